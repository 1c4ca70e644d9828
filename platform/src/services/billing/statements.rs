//! What organisations and the operator read: an organisation's balance, vouchers and monthly
//! statement (JSON, page, CSV), and the operator's totals per town, organisation and month
//! with the subsidy paid against each yearly cap.

use std::collections::BTreeMap;

use serde::Serialize;

use super::periods::{month_of, month_range, year_range};
use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, SubmissionId, VoucherId};
use crate::db::models::charges::{self, Charge};
use crate::db::models::organizations::{self, Organization};
use crate::db::models::prices::Resource;
use crate::db::models::teams;
use crate::db::models::users::Role;
use crate::db::models::vouchers::{self, Voucher, VoucherScope};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::awards::yuan;
use crate::services::judging::export::field;
use crate::time::iso_time;

/// The organisation, if the user may see its account: its members (a team of the
/// institution, or the department's staff), operators and admins.
pub fn organization_for(
    conn: &mut DbConnection,
    id: &OrganizationId,
    user: &CurrentUser,
) -> Result<Organization, AppError> {
    let organization =
        organizations::find(conn, id)?.ok_or_else(|| AppError::missing("organisation", id))?;
    let allowed = user.is_admin()
        || user.has_role(Role::Operator)
        || user.works_for(id)
        || teams::in_organization(conn, id, &user.id)?;
    if allowed {
        Ok(organization)
    } else {
        Err(AppError::forbidden(
            "account_members_only",
            format!(
                "only members of `{}` and the compute centre may see its account",
                organization.name_zh
            ),
        )
        .with("organization", &organization.name_zh))
    }
}

#[derive(Debug, Serialize)]
pub struct VoucherView {
    pub id: VoucherId,
    pub face_value_fen: i64,
    pub balance_fen: i64,
    pub subsidy_percent: i32,
    pub valid_from: String,
    pub valid_until: String,
    pub yearly_cap_fen: i64,
    pub scope: VoucherScope,
    pub scope_id: Option<String>,
    /// Valid now with a balance left.
    pub usable: bool,
}

impl VoucherView {
    fn of(voucher: Voucher, now: i64) -> Self {
        Self {
            usable: voucher.balance_fen > 0
                && voucher.valid_from <= now
                && now < voucher.valid_until,
            id: voucher.id,
            face_value_fen: voucher.face_value_fen,
            balance_fen: voucher.balance_fen,
            subsidy_percent: voucher.subsidy_bp / 100,
            valid_from: iso_time(voucher.valid_from),
            valid_until: iso_time(voucher.valid_until),
            yearly_cap_fen: voucher.yearly_cap_fen,
            scope: voucher.scope,
            scope_id: voucher.scope_id,
        }
    }
}

/// One evaluation on a statement.
#[derive(Debug, Serialize)]
pub struct Line {
    pub finished_at: String,
    pub submission_id: String,
    pub package_version: i32,
    pub team: String,
    pub scenario_id: String,
    pub resource: Resource,
    pub model: String,
    /// Device-seconds or CPU-core-seconds, to the millisecond.
    pub usage_millis: i64,
    pub fen_per_hour: i64,
    pub cost_fen: i64,
    pub sponsored_fen: i64,
    pub subsidy_fen: i64,
    pub own_fen: i64,
    pub refunded: bool,
}

impl Line {
    fn of(charge: Charge, team: String) -> Self {
        Self {
            finished_at: iso_time(charge.finished_at),
            team,
            submission_id: charge.submission_id.0,
            package_version: charge.package_version,
            scenario_id: charge.scenario_id.0,
            resource: charge.kind,
            model: charge.model,
            usage_millis: charge.usage_millis,
            fen_per_hour: charge.fen_per_hour,
            cost_fen: charge.cost_fen,
            sponsored_fen: charge.sponsored_fen,
            subsidy_fen: charge.subsidy_fen,
            own_fen: charge.own_fen,
            refunded: charge.refunded_at.is_some(),
        }
    }
}

/// What a submission's evaluations were charged, as its report shows them: the price in
/// force when each finished, and who paid which part. Shown to whoever may read the
/// report; none for a team without an organisation or while no price applied.
pub fn of_submission(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> Result<Vec<Line>, AppError> {
    let found = charges::of_submission(conn, submission)?;
    lines_of(conn, found)
}

/// The charges as statement lines, each with its team's name.
fn lines_of(conn: &mut DbConnection, found: Vec<Charge>) -> Result<Vec<Line>, AppError> {
    let team_ids: Vec<_> = found.iter().map(|c| c.team_id.clone()).collect();
    let names = teams::names(conn, &team_ids)?;
    Ok(found
        .into_iter()
        .map(|charge| {
            let team = names
                .get(&charge.team_id)
                .cloned()
                .unwrap_or_else(|| charge.team_id.0.clone());
            Line::of(charge, team)
        })
        .collect())
}

#[derive(Debug, Default, Serialize)]
pub struct Sums {
    pub evaluations: i64,
    pub cost_fen: i64,
    pub sponsored_fen: i64,
    pub subsidy_fen: i64,
    pub own_fen: i64,
}

impl Sums {
    fn add(&mut self, charge: &Charge) {
        self.evaluations += 1;
        self.cost_fen += charge.cost_fen;
        self.sponsored_fen += charge.sponsored_fen;
        self.subsidy_fen += charge.subsidy_fen;
        self.own_fen += charge.own_fen;
    }
}

/// An organisation's account and its statement for one month.
#[derive(Debug, Serialize)]
pub struct Statement {
    pub organization: Organization,
    pub month: String,
    /// What the usable vouchers hold now.
    pub balance_fen: i64,
    pub vouchers: Vec<VoucherView>,
    pub monthly_credit_fen: i64,
    /// Subsidy received this calendar year, what the yearly cap counts.
    pub subsidy_this_year_fen: i64,
    pub lines: Vec<Line>,
    /// The month's sums over charges not refunded.
    pub totals: Sums,
}

/// The statement of `month` (`YYYY-MM`, Beijing; the current month when `None`).
pub fn statement(
    conn: &mut DbConnection,
    organization: Organization,
    month: Option<&str>,
) -> Result<Statement, AppError> {
    let now = now_millis();
    let month = month.map_or_else(|| month_of(now), str::to_owned);
    let range = month_range(&month).ok_or_else(|| {
        AppError::from(crate::validate::FieldProblem::new(
            "month",
            "month",
            format!("`{month}` is not YYYY-MM"),
        ))
    })?;
    let found = charges::of_organization_between(conn, &organization.id, range)?;
    let mut totals = Sums::default();
    for charge in found.iter().filter(|c| c.refunded_at.is_none()) {
        totals.add(charge);
    }
    let lines = lines_of(conn, found)?;
    let vouchers: Vec<VoucherView> = vouchers::of_organization(conn, &organization.id)?
        .into_iter()
        .map(|v| VoucherView::of(v, now))
        .collect();
    Ok(Statement {
        month,
        balance_fen: vouchers
            .iter()
            .filter(|v| v.usable)
            .map(|v| v.balance_fen)
            .sum(),
        vouchers,
        monthly_credit_fen: organization.monthly_credit_fen,
        subsidy_this_year_fen: charges::subsidy_between(conn, &organization.id, year_range(now))?,
        organization,
        lines,
        totals,
    })
}

/// Seconds to the millisecond, as a statement prints them.
pub fn seconds(millis: i64) -> String {
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// The statement as CSV (RFC 4180, money in yuan with two decimals, exact from fen).
pub fn csv(statement: &Statement) -> String {
    let mut out = String::from(
        "finished_at,submission,package_version,team,scenario,resource,model,seconds,\
         price_cny_per_hour,cost_cny,sponsored_cny,subsidy_cny,own_cny,refunded\r\n",
    );
    for line in &statement.lines {
        let cells = [
            line.finished_at.clone(),
            line.submission_id.clone(),
            line.package_version.to_string(),
            line.team.clone(),
            line.scenario_id.clone(),
            line.resource.as_str().to_owned(),
            line.model.clone(),
            seconds(line.usage_millis),
            yuan(line.fen_per_hour),
            yuan(line.cost_fen),
            yuan(line.sponsored_fen),
            yuan(line.subsidy_fen),
            yuan(line.own_fen),
            line.refunded.to_string(),
        ];
        let row: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    let t = &statement.totals;
    out.push_str(&format!(
        "total,,,,,,,,,{},{},{},{},\r\n",
        yuan(t.cost_fen),
        yuan(t.sponsored_fen),
        yuan(t.subsidy_fen),
        yuan(t.own_fen)
    ));
    out
}

/// The subsidy an organisation received in a year against its cap (the largest yearly cap
/// among its vouchers valid that year).
#[derive(Debug, Serialize)]
pub struct CapUse {
    pub organization_id: String,
    pub organization: String,
    pub year: String,
    pub subsidy_fen: i64,
    pub yearly_cap_fen: i64,
}

/// The operator's view.
#[derive(Debug, Serialize)]
pub struct OperatorTotals {
    /// Per town, organisation and month, newest month first.
    pub rows: Vec<charges::Totals>,
    pub caps: Vec<CapUse>,
}

pub fn operator_totals(conn: &mut DbConnection) -> Result<OperatorTotals, AppError> {
    let rows = charges::totals(conn)?;
    let mut per_year: BTreeMap<(String, String), i64> = BTreeMap::new();
    for row in &rows {
        let year = row.month.get(..4).unwrap_or_default().to_owned();
        *per_year
            .entry((row.organization_id.clone(), year))
            .or_default() += row.subsidy_fen;
    }
    let mut caps = Vec::new();
    // The organisation's name and vouchers, read once for all its years (the map is in
    // organisation order, so its years come together).
    let mut current: Option<(String, String, Vec<Voucher>)> = None;
    for ((organization_id, year), subsidy_fen) in per_year {
        if current
            .as_ref()
            .is_none_or(|(id, _, _)| id != &organization_id)
        {
            let id = OrganizationId(organization_id.clone());
            let name = organizations::find(conn, &id)?
                .map_or_else(|| organization_id.clone(), |o| o.name_zh);
            current = Some((
                organization_id.clone(),
                name,
                vouchers::of_organization(conn, &id)?,
            ));
        }
        let Some((_, name, held)) = current.as_ref() else {
            continue;
        };
        let (from, until) = month_range(&format!("{year}-01"))
            .map(|(start, _)| year_range(start))
            .unwrap_or_default();
        let yearly_cap_fen = held
            .iter()
            .filter(|v| v.valid_from < until && v.valid_until > from)
            .map(|v| v.yearly_cap_fen)
            .max()
            .unwrap_or(0);
        caps.push(CapUse {
            organization: name.clone(),
            organization_id,
            year,
            subsidy_fen,
            yearly_cap_fen,
        });
    }
    Ok(OperatorTotals { rows, caps })
}

/// The operator's totals as CSV, one row per town, organisation and month.
pub fn totals_csv(totals: &OperatorTotals) -> String {
    let mut out = String::from(
        "month,town,organization,evaluations,cost_cny,sponsored_cny,subsidy_cny,own_cny\r\n",
    );
    for row in &totals.rows {
        let cells = [
            row.month.clone(),
            row.town_id.clone(),
            row.organization_id.clone(),
            row.evaluations.to_string(),
            yuan(row.cost_fen),
            yuan(row.sponsored_fen),
            yuan(row.subsidy_fen),
            yuan(row.own_fen),
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}
