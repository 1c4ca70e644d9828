//! Charges: what each recorded evaluation cost, who paid which part, and the voucher debits
//! behind the subsidy; the sums that caps, allowances, credit and statements read.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::{
    OrganizationId, PriceId, ScenarioId, SubmissionId, TeamId, UserId, VoucherId,
};
use crate::db::models::prices::Resource;
use crate::db::schema::{charge_debits, charges};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = charges)]
pub struct Charge {
    pub submission_id: SubmissionId,
    pub package_version: i32,
    pub organization_id: OrganizationId,
    pub team_id: TeamId,
    pub scenario_id: ScenarioId,
    /// The department whose scenario it was.
    pub town_id: OrganizationId,
    pub kind: Resource,
    pub model: String,
    /// Device-milliseconds (accelerators held × time) or CPU-core-milliseconds.
    pub usage_millis: i64,
    pub price_id: Option<PriceId>,
    pub fen_per_hour: i64,
    pub cost_fen: i64,
    /// Paid by the department's sponsorship of the scenario.
    pub sponsored_fen: i64,
    /// Paid by vouchers.
    pub subsidy_fen: i64,
    /// The organisation's own charge.
    pub own_fen: i64,
    pub finished_at: i64,
    /// Beijing month, `YYYY-MM`.
    pub month: String,
    pub refunded_at: Option<i64>,
    pub refunded_by: Option<UserId>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = charge_debits)]
pub struct Debit {
    pub submission_id: SubmissionId,
    pub package_version: i32,
    pub voucher_id: VoucherId,
    pub amount_fen: i64,
}

pub fn exists(
    conn: &mut DbConnection,
    submission: &SubmissionId,
    version: i32,
) -> QueryResult<bool> {
    let n: i64 = charges::table
        .find((submission, version))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert(conn: &mut DbConnection, charge: &Charge, debits: &[Debit]) -> QueryResult<()> {
    diesel::insert_into(charges::table)
        .values(charge)
        .execute(conn)?;
    for debit in debits {
        diesel::insert_into(charge_debits::table)
            .values(debit)
            .execute(conn)?;
    }
    Ok(())
}

/// The charges of a submission that are not refunded, with their debits.
pub fn live_of_submission(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Vec<(Charge, Vec<Debit>)>> {
    let found: Vec<Charge> = charges::table
        .filter(charges::submission_id.eq(submission))
        .filter(charges::refunded_at.is_null())
        .select(Charge::as_select())
        .load(conn)?;
    found
        .into_iter()
        .map(|charge| {
            let debits = charge_debits::table
                .filter(charge_debits::submission_id.eq(&charge.submission_id))
                .filter(charge_debits::package_version.eq(charge.package_version))
                .select(Debit::as_select())
                .load(conn)?;
            Ok((charge, debits))
        })
        .collect()
}

/// Marks a charge refunded; its figures stay on record, out of every sum.
pub fn mark_refunded(
    conn: &mut DbConnection,
    charge: &Charge,
    at: i64,
    by: Option<&UserId>,
) -> QueryResult<()> {
    diesel::update(charges::table.find((&charge.submission_id, charge.package_version)))
        .set((
            charges::refunded_at.eq(at),
            charges::refunded_by.eq(by.map(UserId::as_str)),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One column's sum over the live charges whose `key_column` is `key`, that finished in
/// `[from, until)`, and, when given, whose `scenario_id` is the scenario. The column names
/// are this module's constants, never input. The placeholders appear in the order they
/// are numbered: SQLite numbers `$n` by first appearance.
fn sum(
    conn: &mut DbConnection,
    column: &str,
    key_column: &str,
    key: &str,
    (from, until): (i64, i64),
    scenario: Option<&ScenarioId>,
) -> QueryResult<i64> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) AS n FROM charges \
         WHERE {key_column} = $1 AND finished_at >= $2 AND finished_at < $3 \
         AND refunded_at IS NULL{}",
        if scenario.is_some() {
            " AND scenario_id = $4"
        } else {
            ""
        }
    );
    let query = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(until);
    match scenario {
        Some(scenario) => query
            .bind::<Text, _>(scenario.as_str())
            .get_result::<Sum>(conn),
        None => query.get_result::<Sum>(conn),
    }
    .map(|s| s.n)
}

/// The organisation's subsidy (vouchers' part) in `[from, until)`: what the yearly cap counts.
pub fn subsidy_between(
    conn: &mut DbConnection,
    organization: &OrganizationId,
    range: (i64, i64),
) -> QueryResult<i64> {
    sum(
        conn,
        "subsidy_fen",
        "organization_id",
        organization.as_str(),
        range,
        None,
    )
}

/// The organisation's own charges in `[from, until)`: what its monthly credit counts.
pub fn own_between(
    conn: &mut DbConnection,
    organization: &OrganizationId,
    range: (i64, i64),
) -> QueryResult<i64> {
    sum(
        conn,
        "own_fen",
        "organization_id",
        organization.as_str(),
        range,
        None,
    )
}

/// The sponsored part of the team's evaluations of the scenario in `[from, until)`.
pub fn sponsored_between(
    conn: &mut DbConnection,
    team: &TeamId,
    scenario: &ScenarioId,
    range: (i64, i64),
) -> QueryResult<i64> {
    sum(
        conn,
        "sponsored_fen",
        "team_id",
        team.as_str(),
        range,
        Some(scenario),
    )
}

/// The organisation's charges that finished in `[from, until)`, oldest first.
pub fn of_organization_between(
    conn: &mut DbConnection,
    organization: &OrganizationId,
    (from, until): (i64, i64),
) -> QueryResult<Vec<Charge>> {
    charges::table
        .filter(charges::organization_id.eq(organization))
        .filter(charges::finished_at.ge(from))
        .filter(charges::finished_at.lt(until))
        .order((charges::finished_at.asc(), charges::submission_id.asc()))
        .select(Charge::as_select())
        .load(conn)
}

/// Every charge of a submission (one per package version it was charged at, refunded ones
/// too), oldest first.
pub fn of_submission(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Vec<Charge>> {
    charges::table
        .filter(charges::submission_id.eq(submission))
        .order((charges::finished_at.asc(), charges::package_version.asc()))
        .select(Charge::as_select())
        .load(conn)
}

/// Sums of live charges for one town, organisation and month.
#[derive(Debug, Clone, QueryableByName, Serialize)]
pub struct Totals {
    #[diesel(sql_type = Text)]
    pub town_id: String,
    #[diesel(sql_type = Text)]
    pub organization_id: String,
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = BigInt)]
    pub evaluations: i64,
    #[diesel(sql_type = BigInt)]
    pub cost_fen: i64,
    #[diesel(sql_type = BigInt)]
    pub sponsored_fen: i64,
    #[diesel(sql_type = BigInt)]
    pub subsidy_fen: i64,
    #[diesel(sql_type = BigInt)]
    pub own_fen: i64,
}

/// Totals per town, organisation and month, newest month first: one grouped query, so the
/// operator's view costs the same at a million charges as at ten.
pub fn totals(conn: &mut DbConnection) -> QueryResult<Vec<Totals>> {
    diesel::sql_query(
        "SELECT town_id, organization_id, month, CAST(COUNT(*) AS BIGINT) AS evaluations, \
             CAST(SUM(cost_fen) AS BIGINT) AS cost_fen, \
             CAST(SUM(sponsored_fen) AS BIGINT) AS sponsored_fen, \
             CAST(SUM(subsidy_fen) AS BIGINT) AS subsidy_fen, \
             CAST(SUM(own_fen) AS BIGINT) AS own_fen \
         FROM charges WHERE refunded_at IS NULL \
         GROUP BY town_id, organization_id, month \
         ORDER BY month DESC, town_id, organization_id",
    )
    .load(conn)
}
