//! Compute-voucher routes: prices, vouchers, credit and sponsorships for those who set them;
//! an organisation's statement for its members; totals for the operator.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::csv_download;
use crate::api::input::{Json, Query};
use crate::auth::{CurrentUser, OperatorOrAdmin};
use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, ScenarioId, SubmissionId};
use crate::db::models::users::Role;
use crate::db::models::vouchers::{self, VoucherForm, VoucherScope};
use crate::db::models::{organizations, prices, scenarios};
use crate::error::AppError;
use crate::services::billing::{self, statements};
use crate::state::AppState;

/// `GET /api/v1/prices` — operators and admins: every price, newest first.
pub async fn list_prices(
    state: web::Data<AppState>,
    _operator: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let all = state.db.read(|conn| Ok(prices::list(conn)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "prices": all })))
}

/// `POST /api/v1/prices` — operators and admins: a price from a date on.
pub async fn set_price(
    state: web::Data<AppState>,
    OperatorOrAdmin(user): OperatorOrAdmin,
    Json(form): Json<prices::PriceForm>,
) -> Result<HttpResponse, AppError> {
    let price = state
        .db
        .write(move |conn| prices::set(conn, form, Some(&user.id)))
        .await?;
    Ok(HttpResponse::Created().json(price))
}

/// Operators and admins issue any voucher; a department's staff issue vouchers for their
/// own town's scenarios (`town` or `scenario` scope).
fn may_issue(
    conn: &mut DbConnection,
    user: &CurrentUser,
    form: &VoucherForm,
) -> Result<(), AppError> {
    if user.is_admin() || user.has_role(Role::Operator) {
        return Ok(());
    }
    let town = match (form.scope, &form.scope_id) {
        (VoucherScope::Town, Some(town)) => Some(OrganizationId(town.clone())),
        (VoucherScope::Scenario, Some(scenario)) => {
            scenarios::find(conn, &ScenarioId(scenario.clone()))?.map(|s| s.organization_id)
        }
        _ => None,
    };
    match town {
        Some(town) if user.works_for(&town) => Ok(()),
        _ => Err(AppError::forbidden(
            "voucher_town_only",
            "departments issue vouchers only for their own town's scenarios; the compute \
             centre issues the others",
        )),
    }
}

/// `POST /api/v1/vouchers` — see [`may_issue`].
pub async fn issue_voucher(
    state: web::Data<AppState>,
    user: CurrentUser,
    Json(form): Json<VoucherForm>,
) -> Result<HttpResponse, AppError> {
    let voucher = state
        .db
        .write(move |conn| {
            may_issue(conn, &user, &form)?;
            if organizations::find(conn, &form.organization_id)?.is_none() {
                return Err(crate::validate::FieldProblem::new(
                    "organization_id",
                    "unknown_organization",
                    format!("no organisation `{}`", form.organization_id),
                )
                .with("id", &form.organization_id)
                .into());
            }
            vouchers::issue(conn, form, Some(&user.id))
        })
        .await?;
    Ok(HttpResponse::Created().json(voucher))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`, Beijing; the current month when left out.
    pub month: Option<String>,
}

async fn statement_of(
    state: &AppState,
    user: CurrentUser,
    id: OrganizationId,
    month: Option<String>,
) -> Result<statements::Statement, AppError> {
    state
        .db
        .read(move |conn| {
            let organization = statements::organization_for(conn, &id, &user)?;
            statements::statement(conn, organization, month.as_deref())
        })
        .await
}

/// `GET /api/v1/organizations/{id}/statement?month=YYYY-MM` — its members and the
/// compute centre: balance, vouchers and the month's evaluations.
pub async fn statement(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<OrganizationId>,
    Query(query): Query<MonthQuery>,
) -> Result<HttpResponse, AppError> {
    let statement = statement_of(&state, user, path.into_inner(), query.month).await?;
    Ok(HttpResponse::Ok().json(statement))
}

/// `GET /api/v1/organizations/{id}/statement.csv?month=YYYY-MM` — the same, as CSV.
pub async fn statement_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<OrganizationId>,
    Query(query): Query<MonthQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let statement = statement_of(&state, user, id.clone(), query.month).await?;
    Ok(csv_download(
        &format!("statement-{id}-{}.csv", statement.month),
        statements::csv(&statement),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditForm {
    pub monthly_credit_fen: i64,
}

/// `PUT /api/v1/organizations/{id}/credit` — operators and admins.
pub async fn set_credit(
    state: web::Data<AppState>,
    OperatorOrAdmin(user): OperatorOrAdmin,
    path: web::Path<OrganizationId>,
    Json(form): Json<CreditForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    state
        .db
        .write(move |conn| {
            organizations::set_monthly_credit(conn, &id, form.monthly_credit_fen, Some(&user.id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SponsorshipForm {
    pub daily_fen_per_team: i64,
}

/// `PUT /api/v1/scenarios/{id}/sponsorship` — the scenario's department (and admins).
pub async fn sponsor(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(form): Json<SponsorshipForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    state
        .db
        .write(move |conn| billing::sponsor(conn, &user, &id, form.daily_fen_per_team))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/submissions/{id}/refund` — operators and admins: what the submission's
/// evaluations were charged is given back.
pub async fn refund(
    state: web::Data<AppState>,
    OperatorOrAdmin(user): OperatorOrAdmin,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let returned = state
        .db
        .write(move |conn| billing::refund(conn, &id, Some(&user.id)))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "returned_to_vouchers_fen": returned })))
}

/// `GET /api/v1/billing/totals` — operators and admins.
pub async fn totals(
    state: web::Data<AppState>,
    _operator: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let totals = state.db.read(statements::operator_totals).await?;
    Ok(HttpResponse::Ok().json(totals))
}

/// `GET /api/v1/billing/totals.csv` — the same, as CSV.
pub async fn totals_csv(
    state: web::Data<AppState>,
    _operator: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let totals = state.db.read(statements::operator_totals).await?;
    Ok(csv_download(
        "compute-totals.csv",
        statements::totals_csv(&totals),
    ))
}
