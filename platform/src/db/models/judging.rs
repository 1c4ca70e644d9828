//! Judging records: a scenario's rubric and blind setting, its panel of judges with the
//! affiliations each declared, and each judge's score sheet per finalist (team).

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, TeamId, UserId};
use crate::db::schema::{
    judge_affiliations, judge_scores, judgings, panel_members, rubric_criteria, score_sheets,
    submissions, team_members, teams, users,
};

jiebang_scenarios::text_enum! {
    sql;
    /// Where a criterion's value comes from.
    pub enum CriterionKind: "criterion kind" {
        /// Taken from the finalists' results and normalised across them.
        Measured = "measured",
        /// Scored 1–10 by each judge of the panel.
        Judged = "judged",
    }
}

jiebang_scenarios::text_enum! {
    sql;
    /// What of a result a measured criterion takes.
    pub enum Measure: "measure" {
        /// The private board's score, in the metric's direction.
        Score = "score",
        /// The latency at the budget's percentile; lower is better.
        Latency = "latency",
        /// Accelerator device-seconds of the hidden run; lower is better.
        DeviceSeconds = "device_seconds",
    }
}

/// A scenario's judging settings; present once the department has set a rubric.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = judgings)]
pub struct Judging {
    pub scenario_id: ScenarioId,
    /// Judges see finalists without team names or institutions until the panel finishes.
    pub blind: bool,
    pub updated_by: Option<UserId>,
    pub updated_at: i64,
}

/// One criterion of a rubric.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = rubric_criteria)]
pub struct Criterion {
    #[serde(skip)]
    pub scenario_id: ScenarioId,
    #[serde(rename = "key")]
    pub criterion: String,
    #[serde(skip)]
    pub position: i32,
    pub label: String,
    pub kind: CriterionKind,
    pub measure: Option<Measure>,
    pub weight: i32,
    pub guidance: String,
}

/// A judge on a scenario's panel; `declared_at` is set once they declared affiliations.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = panel_members)]
pub struct PanelMember {
    pub scenario_id: ScenarioId,
    pub judge_id: UserId,
    pub assigned_by: Option<UserId>,
    pub assigned_at: i64,
    pub declared_at: Option<i64>,
}

/// An institution or organisation a judge declared ties with, for one scenario.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = judge_affiliations)]
pub struct Affiliation {
    pub scenario_id: ScenarioId,
    pub judge_id: UserId,
    pub institution: String,
    pub declared_at: i64,
}

/// A judge's submitted sheet for one finalist: the comment; the scores are its rows.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = score_sheets)]
pub struct ScoreSheet {
    pub scenario_id: ScenarioId,
    pub judge_id: UserId,
    pub team_id: TeamId,
    pub comment: String,
    pub submitted_at: i64,
}

/// One judge's 1–10 score of one finalist on one judged criterion.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = judge_scores)]
pub struct JudgeScore {
    pub scenario_id: ScenarioId,
    pub judge_id: UserId,
    pub team_id: TeamId,
    pub criterion: String,
    pub score: i32,
}

pub fn find_judging(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
) -> QueryResult<Option<Judging>> {
    judgings::table
        .find(scenario)
        .select(Judging::as_select())
        .first(conn)
        .optional()
}

/// The rubric's criteria in the department's order.
pub fn criteria_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<Criterion>> {
    rubric_criteria::table
        .filter(rubric_criteria::scenario_id.eq(scenario))
        .order(rubric_criteria::position.asc())
        .select(Criterion::as_select())
        .load(conn)
}

/// Replaces the scenario's settings and rubric with these.
pub fn replace_rubric(
    conn: &mut DbConnection,
    judging: &Judging,
    criteria: &[Criterion],
) -> QueryResult<()> {
    diesel::delete(
        rubric_criteria::table.filter(rubric_criteria::scenario_id.eq(&judging.scenario_id)),
    )
    .execute(conn)?;
    diesel::delete(judgings::table.find(&judging.scenario_id)).execute(conn)?;
    diesel::insert_into(judgings::table)
        .values(judging)
        .execute(conn)?;
    for criterion in criteria {
        diesel::insert_into(rubric_criteria::table)
            .values(criterion)
            .execute(conn)?;
    }
    Ok(())
}

pub fn membership(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    judge: &UserId,
) -> QueryResult<Option<PanelMember>> {
    panel_members::table
        .find((scenario, judge))
        .select(PanelMember::as_select())
        .first(conn)
        .optional()
}

/// The panels the judge is on, the latest assignment first.
pub fn panels_of_judge(conn: &mut DbConnection, judge: &UserId) -> QueryResult<Vec<PanelMember>> {
    panel_members::table
        .filter(panel_members::judge_id.eq(judge))
        .order(panel_members::assigned_at.desc())
        .select(PanelMember::as_select())
        .load(conn)
}

/// Puts the judge on the panel; false when they already were.
pub fn assign(conn: &mut DbConnection, member: &PanelMember) -> QueryResult<bool> {
    if membership(conn, &member.scenario_id, &member.judge_id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(panel_members::table)
        .values(member)
        .execute(conn)?;
    Ok(true)
}

/// Takes the judge off the panel with their declarations; false when they were not on it.
/// Their submitted sheets stay on the record but no longer count.
pub fn unassign(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    judge: &UserId,
) -> QueryResult<bool> {
    diesel::delete(
        judge_affiliations::table
            .filter(judge_affiliations::scenario_id.eq(scenario))
            .filter(judge_affiliations::judge_id.eq(judge)),
    )
    .execute(conn)?;
    let removed = diesel::delete(panel_members::table.find((scenario, judge))).execute(conn)?;
    Ok(removed > 0)
}

/// A panel member with their sign-in name and display name.
#[derive(Debug, Clone, Queryable)]
pub struct PanelRow {
    pub member: PanelMember,
    pub login: String,
    pub display_name: String,
}

/// The panel in the order judges were assigned.
pub fn panel_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<PanelRow>> {
    panel_members::table
        .inner_join(users::table)
        .filter(panel_members::scenario_id.eq(scenario))
        .order((panel_members::assigned_at.asc(), users::login.asc()))
        .select((PanelMember::as_select(), users::login, users::display_name))
        .load(conn)
}

/// Replaces the judge's declared affiliations for the scenario and marks them declared.
pub fn declare(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    judge: &UserId,
    institutions: &[String],
    now: i64,
) -> QueryResult<()> {
    diesel::delete(
        judge_affiliations::table
            .filter(judge_affiliations::scenario_id.eq(scenario))
            .filter(judge_affiliations::judge_id.eq(judge)),
    )
    .execute(conn)?;
    for institution in institutions {
        diesel::insert_into(judge_affiliations::table)
            .values(Affiliation {
                scenario_id: scenario.clone(),
                judge_id: judge.clone(),
                institution: institution.clone(),
                declared_at: now,
            })
            .execute(conn)?;
    }
    diesel::update(panel_members::table.find((scenario, judge)))
        .set(panel_members::declared_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Every declared affiliation of the scenario's panel.
pub fn affiliations_of(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
) -> QueryResult<Vec<Affiliation>> {
    judge_affiliations::table
        .filter(judge_affiliations::scenario_id.eq(scenario))
        .order((
            judge_affiliations::judge_id.asc(),
            judge_affiliations::institution.asc(),
        ))
        .select(Affiliation::as_select())
        .load(conn)
}

/// Writes the judge's sheet for the finalist, replacing an earlier one; true when new.
pub fn put_sheet(
    conn: &mut DbConnection,
    sheet: &ScoreSheet,
    scores: &[JudgeScore],
) -> QueryResult<bool> {
    let key = (&sheet.scenario_id, &sheet.judge_id, &sheet.team_id);
    diesel::delete(
        judge_scores::table
            .filter(judge_scores::scenario_id.eq(key.0))
            .filter(judge_scores::judge_id.eq(key.1))
            .filter(judge_scores::team_id.eq(key.2)),
    )
    .execute(conn)?;
    let replaced = diesel::delete(score_sheets::table.find(key)).execute(conn)?;
    diesel::insert_into(score_sheets::table)
        .values(sheet)
        .execute(conn)?;
    for score in scores {
        diesel::insert_into(judge_scores::table)
            .values(score)
            .execute(conn)?;
    }
    Ok(replaced == 0)
}

/// Every submitted sheet of the scenario, oldest first.
pub fn sheets_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<ScoreSheet>> {
    score_sheets::table
        .filter(score_sheets::scenario_id.eq(scenario))
        .order((
            score_sheets::submitted_at.asc(),
            score_sheets::judge_id.asc(),
        ))
        .select(ScoreSheet::as_select())
        .load(conn)
}

/// Every judge's score of the scenario.
pub fn scores_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<JudgeScore>> {
    judge_scores::table
        .filter(judge_scores::scenario_id.eq(scenario))
        .select(JudgeScore::as_select())
        .load(conn)
}

/// Every (image digest, team id, team name) of the scenario's submissions whose image is one
/// of `digests`: which teams submitted the same image.
pub fn teams_with_images(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    digests: &[String],
) -> QueryResult<Vec<(String, TeamId, String)>> {
    submissions::table
        .inner_join(teams::table)
        .filter(submissions::scenario_id.eq(scenario))
        .filter(submissions::image_digest.eq_any(digests))
        .select((submissions::image_digest, teams::id, teams::name))
        .distinct()
        .load(conn)
}

/// Every (team id, user id) of the members of `teams`: the finalists' members, in one
/// query, for the conflict-of-interest rule.
pub fn members_of_teams(
    conn: &mut DbConnection,
    teams: &[&TeamId],
) -> QueryResult<Vec<(TeamId, UserId)>> {
    team_members::table
        .filter(team_members::team_id.eq_any(teams))
        .select((team_members::team_id, team_members::user_id))
        .load(conn)
}
