//! Compute vouchers (算力券): pricing each evaluation's metered use, splitting its cost
//! between a department's sponsorship, the organisation's vouchers and its own charge in
//! the transaction that records the result, and refusing a submission nothing can pay for.

pub mod periods;
pub mod statements;

use jiebang_evaluator::protocol::{Device, Report};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::ids::{OrganizationId, ScenarioId, TeamId, UserId, VoucherId};
use crate::db::models::charges::{self, Charge, Debit};
use crate::db::models::jobs::Job;
use crate::db::models::prices::{self, Resource};
use crate::db::models::scenarios::Scenario;
use crate::db::models::submissions::{self, Submission};
use crate::db::models::vouchers::{self, Voucher};
use crate::db::models::{audit, organizations, package_versions, scenarios, teams};
use crate::db::schema::organizations as organizations_table;
use crate::db::{DbConnection, now_millis};
use crate::error::AppError;
use periods::{day_range, month_of, month_range, year_range};

/// What a run used, as the price list counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metered {
    pub kind: Resource,
    /// The accelerator model; empty for CPU cores.
    pub model: String,
    /// Device-milliseconds (devices held × time held) or CPU-core-milliseconds.
    pub usage_millis: i64,
}

/// Measured seconds as milliseconds, per started minute: a run is metered as its report
/// shows a team its hidden run while the phase is open, so neither the statement nor the
/// cost says more about a hidden run than the report does (exact figures could carry
/// hidden answers out). `as` saturates, so a wild figure cannot wrap.
fn millis(seconds: f64) -> i64 {
    const MINUTE: u64 = 60_000;
    let exact = (seconds.max(0.0) * 1000.0).round() as u64;
    i64::try_from(exact.div_ceil(MINUTE).saturating_mul(MINUTE)).unwrap_or(i64::MAX)
}

/// What a report's run is charged for: its device-seconds on the model of the devices it
/// held (as the worker's inventory names them), or, without accelerators, the CPU time of
/// its sample and hidden runs; either without the disturbed timed runs that were repeated.
pub fn metered(report: &Report, inventory: &[Device]) -> Metered {
    if report.device_seconds > 0.0 {
        let model = report
            .devices
            .iter()
            .find_map(|id| inventory.iter().find(|d| &d.id == id))
            .or_else(|| inventory.first())
            .map_or_else(|| "unknown".to_owned(), |d| d.model.clone());
        return Metered {
            kind: Resource::Device,
            model,
            usage_millis: millis(report.device_seconds),
        };
    }
    Metered {
        kind: Resource::CpuCore,
        model: String::new(),
        usage_millis: millis(report.charged_cpu_seconds()),
    }
}

/// `usage_millis` at `fen_per_hour`, rounded to the nearest fen (half up), in exact integers.
pub fn cost_fen(usage_millis: i64, fen_per_hour: i64) -> i64 {
    let product = i128::from(usage_millis) * i128::from(fen_per_hour);
    i64::try_from((product + 1_800_000) / 3_600_000).unwrap_or(i64::MAX)
}

/// CNY with up to two decimals as integer fen, read exactly (never through a float).
pub fn parse_cny(value: &str) -> Result<i64, String> {
    let bad = || format!("`{value}` is not an amount in CNY such as 12.50");
    let (whole, fraction) = value.trim().split_once('.').unwrap_or((value.trim(), ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fen: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fen))
        .ok_or_else(bad)
}

/// A voucher as the split sees it.
#[derive(Debug, Clone)]
pub struct Payer {
    pub id: VoucherId,
    pub balance_fen: i64,
    pub subsidy_bp: i64,
    pub yearly_cap_fen: i64,
}

/// Which vouchers pay how much of `cost` (after the sponsorship), spending them in the order
/// given (earliest expiry first): each pays its rate of the part of the cost no earlier
/// voucher covered, up to its balance and to what its yearly cap leaves after
/// `subsidy_this_year`. Integer fen throughout; a voucher's share rounds down.
pub fn split(cost: i64, payers: &[Payer], subsidy_this_year: i64) -> Vec<(VoucherId, i64)> {
    let mut uncovered = i128::from(cost.max(0));
    let mut paid_this_year = i128::from(subsidy_this_year);
    let mut debits = Vec::new();
    for payer in payers {
        if uncovered == 0 {
            break;
        }
        let rate = i128::from(payer.subsidy_bp.clamp(0, 10_000));
        if rate == 0 {
            continue;
        }
        let cap_left = (i128::from(payer.yearly_cap_fen) - paid_this_year).max(0);
        let wanted = uncovered * rate / 10_000;
        let pay = wanted.min(i128::from(payer.balance_fen)).min(cap_left);
        if pay <= 0 {
            continue;
        }
        // The part of the cost this payment stands for: all of it when the voucher paid its
        // full rate, otherwise the part whose share is what it could pay.
        let covered = if pay == wanted {
            uncovered
        } else {
            ((pay * 10_000 + rate - 1) / rate).min(uncovered)
        };
        uncovered -= covered;
        paid_this_year += pay;
        debits.push((payer.id.clone(), i64::try_from(pay).unwrap_or(0)));
    }
    debits
}

/// Serialises charging per organisation: on PostgreSQL the organisation's row is locked
/// until the transaction ends, so two results recorded at once for one organisation read
/// each other's debits and caps; SQLite has one writer at a time anyway (the result
/// transaction has written before it gets here, so it already holds the write lock).
fn lock(conn: &mut DbConnection, organization: &OrganizationId) -> Result<(), AppError> {
    use diesel::prelude::*;
    if let DbConnection::Postgres(pg) = conn {
        organizations_table::table
            .find(organization)
            .select(organizations_table::id)
            .for_update()
            .first::<OrganizationId>(pg)?;
    }
    Ok(())
}

fn payers(
    vouchers: &[Voucher],
    scenario: &ScenarioId,
    town: &OrganizationId,
    at: i64,
) -> Vec<Payer> {
    vouchers
        .iter()
        .filter(|v| v.balance_fen > 0 && v.covers(scenario, town, at))
        .map(|v| Payer {
            id: v.id.clone(),
            balance_fen: v.balance_fen,
            subsidy_bp: i64::from(v.subsidy_bp),
            yearly_cap_fen: v.yearly_cap_fen,
        })
        .collect()
}

/// The free allowance the team has left today on the scenario (0 when none is sponsored).
fn allowance_left(
    conn: &mut DbConnection,
    team: &TeamId,
    scenario: &ScenarioId,
    at: i64,
) -> Result<i64, AppError> {
    let Some(daily) = vouchers::sponsorship(conn, scenario)? else {
        return Ok(0);
    };
    let used = charges::sponsored_between(conn, team, scenario, day_range(at))?;
    Ok((daily - used).max(0))
}

/// Charges one recorded evaluation, in the caller's transaction (the one that records the
/// result): the price in force when the run finished, the sponsorship first, then the
/// vouchers, the rest the organisation's own. Once per result: a second call for the same
/// submission and package version charges nothing. Returns the charge, if one was made
/// (none for a team without an organisation).
pub fn charge(
    conn: &mut DbConnection,
    submission: &Submission,
    package_version: i32,
    metered: &Metered,
    finished_at: i64,
) -> Result<Option<Charge>, AppError> {
    let Some(organization) =
        teams::find(conn, &submission.team_id)?.and_then(|t| t.organization_id)
    else {
        return Ok(None);
    };
    let scenario = scenarios::find(conn, &submission.scenario_id)?
        .ok_or_else(|| AppError::missing("scenario", &submission.scenario_id))?;
    lock(conn, &organization)?;
    if charges::exists(conn, &submission.id, package_version)? {
        return Ok(None);
    }
    let price = prices::in_force(conn, metered.kind, &metered.model, finished_at)?;
    let fen_per_hour = price.as_ref().map_or(0, |p| p.fen_per_hour);
    let cost = cost_fen(metered.usage_millis, fen_per_hour);
    let sponsored = allowance_left(conn, &submission.team_id, &scenario.id, finished_at)?.min(cost);
    let held = vouchers::of_organization(conn, &organization)?;
    let this_year = charges::subsidy_between(conn, &organization, year_range(finished_at))?;
    let debits = split(
        cost - sponsored,
        &payers(&held, &scenario.id, &scenario.organization_id, finished_at),
        this_year,
    );
    let subsidy: i64 = debits.iter().map(|(_, amount)| amount).sum();
    let charge = Charge {
        submission_id: submission.id.clone(),
        package_version,
        organization_id: organization.clone(),
        team_id: submission.team_id.clone(),
        scenario_id: scenario.id.clone(),
        town_id: scenario.organization_id.clone(),
        kind: metered.kind,
        model: metered.model.clone(),
        usage_millis: metered.usage_millis,
        price_id: price.map(|p| p.id),
        fen_per_hour,
        cost_fen: cost,
        sponsored_fen: sponsored,
        subsidy_fen: subsidy,
        own_fen: cost - sponsored - subsidy,
        finished_at,
        month: month_of(finished_at),
        refunded_at: None,
        refunded_by: None,
    };
    let rows: Vec<Debit> = debits
        .iter()
        .map(|(voucher, amount)| Debit {
            submission_id: submission.id.clone(),
            package_version,
            voucher_id: voucher.clone(),
            amount_fen: *amount,
        })
        .collect();
    charges::insert(conn, &charge, &rows)?;
    for debit in &rows {
        // The lock makes this hold; if it ever did not, the transaction (and the result
        // with it) fails rather than overdraw.
        if !vouchers::debit(conn, &debit.voucher_id, debit.amount_fen)? {
            return Err(AppError::Internal(format!(
                "voucher `{}` no longer holds {} fen",
                debit.voucher_id, debit.amount_fen
            )));
        }
        audit::record(
            conn,
            None,
            "voucher.debit",
            "voucher",
            debit.voucher_id.as_str(),
            serde_json::json!({
                "submission": submission.id, "package_version": package_version,
                "amount_fen": debit.amount_fen, "cost_fen": cost,
            }),
        )?;
    }
    Ok(Some(charge))
}

/// Charges the evaluation a worker reported, in the transaction that records its result:
/// its metered use on the worker's inventory (JSON, as registered).
pub fn charge_report(
    conn: &mut DbConnection,
    job: &Job,
    inventory: &str,
    report: &Report,
    finished_at: i64,
) -> Result<Option<Charge>, AppError> {
    let submission = submissions::find(conn, &job.submission_id)?
        .ok_or_else(|| AppError::Internal(format!("job {} has no submission", job.id)))?;
    // An inventory that does not parse only loses the model's name, not the charge.
    let inventory: Vec<Device> = serde_json::from_str(inventory).unwrap_or_default();
    charge(
        conn,
        &submission,
        job.package_version,
        &metered(report, &inventory),
        finished_at,
    )
}

/// Gives back what a submission's charges took: the vouchers' debits return to their
/// balances, and the charges leave every sum (they stay on record, marked refunded).
/// Returns the fen returned to vouchers.
pub fn refund(
    conn: &mut DbConnection,
    submission: &crate::db::ids::SubmissionId,
    actor: Option<&UserId>,
) -> Result<i64, AppError> {
    let live = charges::live_of_submission(conn, submission)?;
    if live.is_empty() {
        return Err(AppError::missing("charge", submission));
    }
    let now = now_millis();
    let mut returned = 0;
    for (charge, debits) in live {
        lock(conn, &charge.organization_id)?;
        for debit in &debits {
            vouchers::credit(conn, &debit.voucher_id, debit.amount_fen)?;
            returned += debit.amount_fen;
        }
        charges::mark_refunded(conn, &charge, now, actor)?;
        audit::record(
            conn,
            actor,
            "voucher.refund",
            "submission",
            submission.as_str(),
            serde_json::json!({
                "package_version": charge.package_version, "cost_fen": charge.cost_fen,
                "subsidy_fen": charge.subsidy_fen, "own_fen": charge.own_fen,
                "vouchers": debits.iter().map(|d| (d.voucher_id.as_str(), d.amount_fen))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            }),
        )?;
    }
    Ok(returned)
}

/// Sets (or, with 0, ends) the scenario's sponsorship as `user` may: its department's staff
/// and admins; 404 for a scenario the user cannot see. The API and the console both.
pub fn sponsor(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    daily_fen_per_team: i64,
) -> Result<(), AppError> {
    crate::services::scenarios::editable(conn, id, user)?;
    vouchers::sponsor(conn, id, daily_fen_per_team, Some(&user.id))
}

/// What could pay for one more evaluation now, in fen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Payable {
    /// Voucher balance covering the scenario, within the yearly cap.
    pub voucher_fen: i64,
    /// The sponsorship's free allowance left today for the team.
    pub allowance_fen: i64,
    /// Credit left this month.
    pub credit_fen: i64,
}

impl Payable {
    pub fn anything(&self) -> bool {
        self.voucher_fen > 0 || self.allowance_fen > 0 || self.credit_fen > 0
    }
}

/// Whether evaluating this scenario costs anything now: some price for what it runs on is
/// in force (for a scenario without a package, any price).
fn priced(conn: &mut DbConnection, scenario: &Scenario, now: i64) -> Result<bool, AppError> {
    let spec = package_versions::spec_of(conn, &scenario.id, scenario.package_version)?;
    let price = match spec.map(|s| s.manifest.resources) {
        Some(resources) if resources.accelerators == 0 => {
            prices::in_force(conn, Resource::CpuCore, "", now)?
        }
        Some(resources) => match resources.accelerator_model {
            Some(model) => prices::in_force(conn, Resource::Device, &model, now)?,
            None => return Ok(prices::any_in_force(conn, now)?),
        },
        None => return Ok(prices::any_in_force(conn, now)?),
    };
    Ok(price.is_some_and(|p| p.fen_per_hour > 0))
}

/// What could pay for the team's next evaluation of the scenario.
pub fn payable(
    conn: &mut DbConnection,
    organization: &OrganizationId,
    scenario: &Scenario,
    team: &TeamId,
    now: i64,
) -> Result<Payable, AppError> {
    let held = vouchers::of_organization(conn, organization)?;
    let this_year = charges::subsidy_between(conn, organization, year_range(now))?;
    let covering: Vec<&Voucher> = held
        .iter()
        .filter(|v| v.balance_fen > 0 && v.covers(&scenario.id, &scenario.organization_id, now))
        .collect();
    let cap_left = covering
        .iter()
        .map(|v| (v.yearly_cap_fen - this_year).max(0))
        .max()
        .unwrap_or(0);
    let balance: i64 = covering.iter().map(|v| v.balance_fen).sum();
    let credit = organizations::find(conn, organization)?.map_or(0, |o| o.monthly_credit_fen);
    let own = charges::own_between(
        conn,
        organization,
        month_range(&month_of(now)).unwrap_or((now, now)),
    )?;
    Ok(Payable {
        voucher_fen: balance.min(cap_left),
        allowance_fen: allowance_left(conn, team, &scenario.id, now)?,
        credit_fen: (credit - own).max(0),
    })
}

/// Refuses a submission before its upload when its evaluation would be charged and
/// nothing can pay: no voucher balance within the cap, no sponsored allowance left today,
/// no credit left this month. Free when no price applies.
pub fn admit(
    conn: &mut DbConnection,
    scenario: &Scenario,
    team: &TeamId,
    now: i64,
) -> Result<(), AppError> {
    if !priced(conn, scenario, now)? {
        return Ok(());
    }
    let organization = teams::find(conn, team)?.and_then(|t| t.organization_id);
    let can = match &organization {
        Some(id) => payable(conn, id, scenario, team, now)?,
        None => Payable::default(),
    };
    if can.anything() {
        return Ok(());
    }
    // The organisation's name is read for the refusal only.
    let name = match &organization {
        Some(id) => organizations::find(conn, id)?.map_or_else(|| id.0.clone(), |o| o.name_zh),
        None => String::new(),
    };
    Err(AppError::PaymentRequired {
        message: format!(
            "nothing can pay for an evaluation of `{}` by team `{team}`: organisation `{name}` \
             has 0.00 CNY of compute vouchers for it (within its yearly cap), no sponsored \
             allowance left today and no credit left this month. Ask the compute centre for a \
             compute voucher (算力券) or monthly credit, or the department to sponsor the \
             scenario; nothing was uploaded",
            scenario.id
        ),
        balance: serde_json::to_value(&can).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;
