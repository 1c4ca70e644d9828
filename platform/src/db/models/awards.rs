//! The award and its announcement (公示): winners with their share of the bounty, the
//! objection period, and objections with the department's answers.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::{ObjectionId, ScenarioId, TeamId, UserId};
use crate::db::schema::{award_winners, awards, objections, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = awards)]
pub struct Award {
    pub scenario_id: ScenarioId,
    pub reasons: String,
    pub objection_days: i32,
    pub decided_by: Option<UserId>,
    pub decided_at: i64,
    /// Set when the department announces the award; the objection period starts then.
    pub announced_at: Option<i64>,
    pub objections_close_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = award_winners)]
pub struct Winner {
    pub scenario_id: ScenarioId,
    pub team_id: TeamId,
    pub position: i32,
    /// The winner's part of the bounty in CNY fen (1/100 yuan).
    pub amount_fen: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = objections)]
pub struct Objection {
    pub id: ObjectionId,
    pub scenario_id: ScenarioId,
    pub filed_by: UserId,
    pub body: String,
    pub filed_at: i64,
    pub answer: Option<String>,
    pub answered_by: Option<UserId>,
    pub answered_at: Option<i64>,
}

pub fn find(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Option<Award>> {
    awards::table
        .find(scenario)
        .select(Award::as_select())
        .first(conn)
        .optional()
}

pub fn winners_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<Winner>> {
    award_winners::table
        .filter(award_winners::scenario_id.eq(scenario))
        .order(award_winners::position.asc())
        .select(Winner::as_select())
        .load(conn)
}

/// Replaces the (not yet announced) award and its winners.
pub fn replace(conn: &mut DbConnection, award: &Award, winners: &[Winner]) -> QueryResult<()> {
    diesel::delete(award_winners::table.filter(award_winners::scenario_id.eq(&award.scenario_id)))
        .execute(conn)?;
    diesel::delete(awards::table.find(&award.scenario_id)).execute(conn)?;
    diesel::insert_into(awards::table)
        .values(award)
        .execute(conn)?;
    for winner in winners {
        diesel::insert_into(award_winners::table)
            .values(winner)
            .execute(conn)?;
    }
    Ok(())
}

/// Announced awards that are final (the period over, every objection answered) and whose
/// finalists have not been told yet: of every scenario, or of `only` that one.
pub fn final_untold(
    conn: &mut DbConnection,
    now: i64,
    only: Option<&ScenarioId>,
) -> QueryResult<Vec<ScenarioId>> {
    let unanswered = objections::table
        .filter(objections::scenario_id.eq(awards::scenario_id))
        .filter(objections::answer.is_null());
    let mut query = awards::table
        .filter(awards::objections_close_at.le(now))
        .filter(awards::final_notified_at.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(unanswered)))
        .select(awards::scenario_id)
        .into_boxed();
    if let Some(scenario) = only {
        query = query.filter(awards::scenario_id.eq(scenario));
    }
    query.load(conn)
}

/// Records that the finalists of an award were told it is final; false when already told
/// (by a sweep or an answer that ran first).
pub fn mark_final_told(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    now: i64,
) -> QueryResult<bool> {
    let changed = diesel::update(
        awards::table
            .find(scenario)
            .filter(awards::final_notified_at.is_null()),
    )
    .set(awards::final_notified_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Starts the objection period; false when the award was announced already.
pub fn announce(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    now: i64,
    closes_at: i64,
) -> QueryResult<bool> {
    let changed = diesel::update(
        awards::table
            .find(scenario)
            .filter(awards::announced_at.is_null()),
    )
    .set((
        awards::announced_at.eq(now),
        awards::objections_close_at.eq(closes_at),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

pub fn insert_objection(conn: &mut DbConnection, objection: &Objection) -> QueryResult<()> {
    diesel::insert_into(objections::table)
        .values(objection)
        .execute(conn)?;
    Ok(())
}

pub fn find_objection(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    id: &ObjectionId,
) -> QueryResult<Option<Objection>> {
    objections::table
        .find(id)
        .filter(objections::scenario_id.eq(scenario))
        .select(Objection::as_select())
        .first(conn)
        .optional()
}

/// Records the department's answer; false when the objection was answered already.
pub fn answer(
    conn: &mut DbConnection,
    id: &ObjectionId,
    text: &str,
    by: &UserId,
    now: i64,
) -> QueryResult<bool> {
    let changed = diesel::update(
        objections::table
            .find(id)
            .filter(objections::answer.is_null()),
    )
    .set((
        objections::answer.eq(text),
        objections::answered_by.eq(by),
        objections::answered_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

/// The scenario's objections, oldest first, with the filer's sign-in name.
pub fn objections_of(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
) -> QueryResult<Vec<(Objection, String)>> {
    objections::table
        .inner_join(users::table.on(users::id.eq(objections::filed_by)))
        .filter(objections::scenario_id.eq(scenario))
        .order((objections::filed_at.asc(), objections::id.asc()))
        .select((Objection::as_select(), users::login))
        .load(conn)
}
