//! `jiebang admin price …` and `jiebang admin voucher …`: the compute centre's prices,
//! vouchers, credit, sponsorships, refunds and totals, straight against the database.

use chrono::TimeZone;
use clap::Subcommand;

use crate::db::Db;
use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, SubmissionId};
use crate::db::models::organizations::{self, Organization};
use crate::db::models::prices::{self, PriceForm, Resource};
use crate::db::models::vouchers::{self, VoucherForm, VoucherScope};
use crate::error::AppError;
use crate::services::awards::yuan;
use crate::services::billing::{self, parse_cny, statements};
use crate::time::beijing;

#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Set the price of a device-hour of an accelerator model, or of a CPU-core-hour.
    Set {
        /// The accelerator model as workers report it (`MLU270`, `A100`).
        #[arg(
            long,
            conflicts_with = "cpu_core",
            required_unless_present = "cpu_core"
        )]
        device: Option<String>,
        /// Price CPU-core-hours of runs that hold no accelerator instead.
        #[arg(long)]
        cpu_core: bool,
        /// CNY per hour, up to two decimals (`12.50`).
        #[arg(long, value_parser = parse_cny)]
        cny_per_hour: i64,
        /// First day in force (Beijing, `YYYY-MM-DD`, or an RFC 3339 time).
        #[arg(long, value_parser = parse_time)]
        from: i64,
        /// First day no longer in force; open-ended when left out.
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
    },
    /// List every price, newest first.
    List,
}

#[derive(Debug, Subcommand)]
pub enum VoucherCommand {
    /// Issue a compute voucher to an organisation (an institution's name, or an id).
    Issue {
        #[arg(long)]
        org: String,
        /// Face value in CNY, up to two decimals.
        #[arg(long, value_parser = parse_cny)]
        face_value: i64,
        /// Percent of each evaluation's cost the voucher pays (the seed's 50).
        #[arg(long)]
        subsidy_percent: i32,
        #[arg(long, value_parser = parse_time)]
        from: i64,
        #[arg(long, value_parser = parse_time)]
        until: i64,
        /// The organisation's subsidy cap per calendar year in CNY (default 3000000).
        #[arg(long, value_parser = parse_cny)]
        yearly_cap: Option<i64>,
        /// Cover only this town's scenarios.
        #[arg(long, conflicts_with = "scenario")]
        town: Option<String>,
        /// Cover only this scenario.
        #[arg(long)]
        scenario: Option<String>,
    },
    /// An organisation's vouchers and this month's statement.
    Show {
        #[arg(long)]
        org: String,
        /// `YYYY-MM`; this month when left out.
        #[arg(long)]
        month: Option<String>,
    },
    /// Let an organisation run up this much own charge a month once its vouchers are spent.
    Credit {
        #[arg(long)]
        org: String,
        /// CNY a month; 0 ends the credit.
        #[arg(long, value_parser = parse_cny)]
        monthly: i64,
    },
    /// A department's sponsorship of its scenario: free evaluation up to this much per team
    /// per day.
    Sponsor {
        #[arg(long)]
        scenario: String,
        /// CNY per team per day; 0 ends the sponsorship.
        #[arg(long, value_parser = parse_cny)]
        daily_per_team: i64,
    },
    /// Give back what a submission's evaluations were charged.
    Refund {
        #[arg(long)]
        submission: String,
    },
    /// Totals per town, organisation and month, and the subsidy against each yearly cap.
    Totals,
}

/// `YYYY-MM-DD` (midnight in Beijing) or an RFC 3339 time, as milliseconds.
pub fn parse_time(value: &str) -> Result<i64, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(time.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|day| {
            beijing()
                .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
                .single()
        })
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| format!("`{value}` is neither YYYY-MM-DD nor an RFC 3339 time"))
}

fn organization(conn: &mut DbConnection, key: &str) -> Result<Organization, AppError> {
    organizations::by_id_or_name(conn, key)?.ok_or_else(|| AppError::missing("organisation", key))
}

pub fn run_price(db: &Db, command: PriceCommand) -> Result<(), AppError> {
    match command {
        PriceCommand::Set {
            device,
            cpu_core: _,
            cny_per_hour,
            from,
            until,
        } => {
            let form = PriceForm {
                kind: if device.is_some() {
                    Resource::Device
                } else {
                    Resource::CpuCore
                },
                model: device.unwrap_or_default(),
                fen_per_hour: cny_per_hour,
                valid_from: from,
                valid_until: until,
            };
            let price = db.write_blocking(|conn| prices::set(conn, form, None))?;
            println!(
                "price {} set: {} CNY an hour",
                price.id,
                yuan(price.fen_per_hour)
            );
        }
        PriceCommand::List => {
            for price in db.read_blocking(|conn| Ok(prices::list(conn)?))? {
                println!(
                    "{}\t{}\t{}\t{}\tfrom={}\tuntil={}",
                    price.id,
                    price.kind,
                    if price.model.is_empty() {
                        "-"
                    } else {
                        &price.model
                    },
                    yuan(price.fen_per_hour),
                    crate::time::iso_time(price.valid_from),
                    price
                        .valid_until
                        .map_or_else(|| "-".to_owned(), crate::time::iso_time),
                );
            }
        }
    }
    Ok(())
}

pub fn run_voucher(db: &Db, command: VoucherCommand) -> Result<(), AppError> {
    match command {
        VoucherCommand::Issue {
            org,
            face_value,
            subsidy_percent,
            from,
            until,
            yearly_cap,
            town,
            scenario,
        } => {
            let (scope, scope_id) = match (town, scenario) {
                (Some(town), _) => (VoucherScope::Town, Some(town)),
                (None, Some(scenario)) => (VoucherScope::Scenario, Some(scenario)),
                (None, None) => (VoucherScope::All, None),
            };
            let voucher = db.write_blocking(|conn| {
                let organization = organization(conn, &org)?;
                vouchers::issue(
                    conn,
                    VoucherForm {
                        organization_id: organization.id,
                        face_value_fen: face_value,
                        subsidy_percent,
                        valid_from: from,
                        valid_until: until,
                        yearly_cap_fen: yearly_cap,
                        scope,
                        scope_id,
                    },
                    None,
                )
            })?;
            println!(
                "voucher {} issued to {}: {} CNY at {} %",
                voucher.id,
                voucher.organization_id,
                yuan(voucher.face_value_fen),
                voucher.subsidy_bp / 100
            );
        }
        VoucherCommand::Show { org, month } => {
            let statement = db.read_blocking(|conn| {
                let organization = organization(conn, &org)?;
                statements::statement(conn, organization, month.as_deref())
            })?;
            println!(
                "{} ({}): usable balance {} CNY, monthly credit {} CNY, subsidy this year {} CNY",
                statement.organization.name_zh,
                statement.organization.id,
                yuan(statement.balance_fen),
                yuan(statement.monthly_credit_fen),
                yuan(statement.subsidy_this_year_fen)
            );
            for v in &statement.vouchers {
                println!(
                    "{}\t{}/{} CNY\t{} %\t{} {}\t{} – {}",
                    v.id,
                    yuan(v.balance_fen),
                    yuan(v.face_value_fen),
                    v.subsidy_percent,
                    v.scope,
                    v.scope_id.as_deref().unwrap_or(""),
                    v.valid_from,
                    v.valid_until
                );
            }
            print!("{}", statements::csv(&statement));
        }
        VoucherCommand::Credit { org, monthly } => {
            let id = db.write_blocking(|conn| {
                let organization = organization(conn, &org)?;
                organizations::set_monthly_credit(conn, &organization.id, monthly, None)?;
                Ok(organization.id)
            })?;
            println!(
                "{id} may run up {} CNY of own charges a month",
                yuan(monthly)
            );
        }
        VoucherCommand::Sponsor {
            scenario,
            daily_per_team,
        } => {
            let id = ScenarioId(scenario);
            db.write_blocking(|conn| vouchers::sponsor(conn, &id, daily_per_team, None))?;
            println!("{id}: {} CNY free per team per day", yuan(daily_per_team));
        }
        VoucherCommand::Refund { submission } => {
            let id = SubmissionId(submission);
            let returned = db.write_blocking(|conn| billing::refund(conn, &id, None))?;
            println!(
                "refunded the charges of {id}; {} CNY back on vouchers",
                yuan(returned)
            );
        }
        VoucherCommand::Totals => {
            let totals = db.read_blocking(statements::operator_totals)?;
            print!("{}", statements::totals_csv(&totals));
            for cap in &totals.caps {
                println!(
                    "cap\t{}\t{}\t{} of {} CNY",
                    cap.year,
                    cap.organization,
                    yuan(cap.subsidy_fen),
                    yuan(cap.yearly_cap_fen)
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_beijing_midnight() {
        assert_eq!(parse_time("2026-12-01"), parse_time("2026-11-30T16:00:00Z"));
        assert!(parse_time("12/01/2026").is_err());
    }
}
