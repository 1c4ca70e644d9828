//! Compute vouchers (算力券) issued to organisations, and departments' sponsorships of their
//! scenarios (a free allowance per team per day).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, ScenarioId, UserId, VoucherId};
use crate::db::models::{audit, organizations, scenarios};
use crate::db::now_millis;
use crate::db::schema::{sponsorships, vouchers};
use crate::error::AppError;
use crate::validate::FieldProblem;

/// The seed's cap (Hengqin's rule): at most 3,000,000 CNY of subsidy per organisation a year.
pub const DEFAULT_YEARLY_CAP_FEN: i64 = 300_000_000;

jiebang_scenarios::text_enum! {
    sql;
    /// Which evaluations a voucher pays for.
    pub enum VoucherScope: "voucher scope" {
        /// Every evaluation of the organisation's teams.
        All = "all",
        /// Evaluations of one town's scenarios (`scope_id` is the town).
        Town = "town",
        /// Evaluations of one scenario (`scope_id` is the scenario).
        Scenario = "scenario",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = vouchers)]
pub struct Voucher {
    pub id: VoucherId,
    pub organization_id: OrganizationId,
    pub face_value_fen: i64,
    pub balance_fen: i64,
    /// The share of an evaluation's cost it pays, in basis points (5000 = 50 %).
    pub subsidy_bp: i32,
    pub valid_from: i64,
    pub valid_until: i64,
    /// The most subsidy the organisation receives in a calendar year while this voucher
    /// pays (Beijing years).
    pub yearly_cap_fen: i64,
    pub scope: VoucherScope,
    pub scope_id: Option<String>,
    pub issued_by: Option<UserId>,
    pub issued_at: i64,
}

impl Voucher {
    /// Whether it pays for an evaluation of `scenario` (of `town`) that finished at `at`.
    pub fn covers(&self, scenario: &ScenarioId, town: &OrganizationId, at: i64) -> bool {
        let in_scope = match self.scope {
            VoucherScope::All => true,
            VoucherScope::Town => self.scope_id.as_deref() == Some(town.as_str()),
            VoucherScope::Scenario => self.scope_id.as_deref() == Some(scenario.as_str()),
        };
        in_scope && self.valid_from <= at && at < self.valid_until
    }
}

/// What an issuer gives; money in integer fen, times in milliseconds since the epoch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoucherForm {
    pub organization_id: OrganizationId,
    pub face_value_fen: i64,
    /// Percent of each evaluation's cost the voucher pays, 1 to 100.
    pub subsidy_percent: i32,
    pub valid_from: i64,
    pub valid_until: i64,
    #[serde(default)]
    pub yearly_cap_fen: Option<i64>,
    #[serde(default = "all")]
    pub scope: VoucherScope,
    #[serde(default)]
    pub scope_id: Option<String>,
}

fn all() -> VoucherScope {
    VoucherScope::All
}

/// Issues a voucher with its whole face value as balance; audited.
pub fn issue(
    conn: &mut DbConnection,
    form: VoucherForm,
    actor: Option<&UserId>,
) -> Result<Voucher, AppError> {
    if form.face_value_fen <= 0 {
        return Err(FieldProblem::new("face_value_fen", "positive", "must be more than 0").into());
    }
    if !(1..=100).contains(&form.subsidy_percent) {
        return Err(
            FieldProblem::new("subsidy_percent", "out_of_range", "must be 1 to 100")
                .with("min", 1)
                .with("max", 100)
                .into(),
        );
    }
    if form.valid_until <= form.valid_from {
        return Err(crate::validate::later_than("valid_until", "valid_from").into());
    }
    let yearly_cap_fen = form.yearly_cap_fen.unwrap_or(DEFAULT_YEARLY_CAP_FEN);
    if yearly_cap_fen < 0 {
        return Err(FieldProblem::new("yearly_cap_fen", "negative", "must be 0 or more").into());
    }
    match (form.scope, &form.scope_id) {
        (VoucherScope::All, None) => {}
        (VoucherScope::All, Some(_)) => {
            return Err(FieldProblem::new(
                "scope_id",
                "scope_not_allowed",
                "a voucher for all evaluations names no town or scenario",
            )
            .into());
        }
        (_, None) => {
            return Err(FieldProblem::new(
                "scope_id",
                "scope_required",
                "name the town or scenario covered",
            )
            .into());
        }
        (VoucherScope::Town, Some(town)) => {
            if !organizations::exists(conn, &OrganizationId::from(town.as_str()))? {
                return Err(FieldProblem::new(
                    "scope_id",
                    "unknown_organization",
                    format!("no town `{town}`"),
                )
                .with("id", town)
                .into());
            }
        }
        (VoucherScope::Scenario, Some(scenario)) => {
            if scenarios::find(conn, &ScenarioId::from(scenario.as_str()))?.is_none() {
                return Err(FieldProblem::new(
                    "scope_id",
                    "unknown_scenario",
                    format!("no scenario `{scenario}`"),
                )
                .with("id", scenario)
                .into());
            }
        }
    }
    let voucher = Voucher {
        id: VoucherId::generate(),
        organization_id: form.organization_id,
        face_value_fen: form.face_value_fen,
        balance_fen: form.face_value_fen,
        subsidy_bp: form.subsidy_percent * 100,
        valid_from: form.valid_from,
        valid_until: form.valid_until,
        yearly_cap_fen,
        scope: form.scope,
        scope_id: form.scope_id,
        issued_by: actor.cloned(),
        issued_at: now_millis(),
    };
    diesel::insert_into(vouchers::table)
        .values(&voucher)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "voucher.issue",
        "voucher",
        voucher.id.as_str(),
        serde_json::json!({
            "organization": voucher.organization_id, "face_value_fen": voucher.face_value_fen,
            "subsidy_bp": voucher.subsidy_bp, "valid_from": voucher.valid_from,
            "valid_until": voucher.valid_until, "yearly_cap_fen": voucher.yearly_cap_fen,
            "scope": voucher.scope, "scope_id": voucher.scope_id,
        }),
    )?;
    Ok(voucher)
}

/// The organisation's vouchers, earliest expiry first (the order they are spent in).
pub fn of_organization(
    conn: &mut DbConnection,
    organization: &OrganizationId,
) -> QueryResult<Vec<Voucher>> {
    vouchers::table
        .filter(vouchers::organization_id.eq(organization))
        .order((
            vouchers::valid_until.asc(),
            vouchers::issued_at.asc(),
            vouchers::id.asc(),
        ))
        .select(Voucher::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &VoucherId) -> QueryResult<Option<Voucher>> {
    vouchers::table
        .find(id)
        .select(Voucher::as_select())
        .first(conn)
        .optional()
}

/// Takes `amount` from the voucher's balance only if the balance holds it: one statement,
/// so two transactions can never both spend the same fen (and the table's check refuses a
/// negative balance besides). False when it did not.
pub fn debit(conn: &mut DbConnection, id: &VoucherId, amount: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        vouchers::table
            .filter(vouchers::id.eq(id))
            .filter(vouchers::balance_fen.ge(amount)),
    )
    .set(vouchers::balance_fen.eq(vouchers::balance_fen - amount))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Gives `amount` back to the voucher (a refunded charge).
pub fn credit(conn: &mut DbConnection, id: &VoucherId, amount: i64) -> QueryResult<()> {
    diesel::update(vouchers::table.find(id))
        .set(vouchers::balance_fen.eq(vouchers::balance_fen + amount))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sponsorships)]
pub struct Sponsorship {
    pub scenario_id: ScenarioId,
    pub daily_fen_per_team: i64,
    pub set_by: Option<UserId>,
    pub set_at: i64,
}

/// The scenario's free allowance per team per day, if its department sponsors it.
pub fn sponsorship(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Option<i64>> {
    sponsorships::table
        .find(scenario)
        .select(sponsorships::daily_fen_per_team)
        .first(conn)
        .optional()
}

/// Sets (or, with 0, ends) the scenario's sponsorship; audited.
pub fn sponsor(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    daily_fen_per_team: i64,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    if daily_fen_per_team < 0 {
        return Err(
            FieldProblem::new("daily_fen_per_team", "negative", "must be 0 or more").into(),
        );
    }
    diesel::delete(sponsorships::table.find(scenario)).execute(conn)?;
    if daily_fen_per_team > 0 {
        diesel::insert_into(sponsorships::table)
            .values(Sponsorship {
                scenario_id: scenario.clone(),
                daily_fen_per_team,
                set_by: actor.cloned(),
                set_at: now_millis(),
            })
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        "scenario.sponsor",
        "scenario",
        scenario.as_str(),
        serde_json::json!({"daily_fen_per_team": daily_fen_per_team}),
    )?;
    Ok(())
}
