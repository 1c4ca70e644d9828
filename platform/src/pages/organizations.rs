//! `/organizations/{id}`: an organisation's compute account for its members — voucher
//! balance, vouchers, credit, and the month's statement with a CSV download.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::db::ids::OrganizationId;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::paging::grouped_yuan;
use crate::pages::scenarios::{pick, when};
use crate::services::billing::statements::{self, Line, seconds};

#[derive(Serialize)]
struct VoucherCard {
    balance: String,
    face_value: String,
    percent: i32,
    scope: String,
    valid: String,
    cap: String,
    usable: bool,
}

/// A charged evaluation as the account page and the submission's page show it.
#[derive(Serialize)]
pub struct LineCard {
    when: String,
    scenario: String,
    team: String,
    resource: String,
    seconds: String,
    price: String,
    cost: String,
    sponsored: String,
    subsidy: String,
    own: String,
    refunded: bool,
}

fn cny(fen: i64) -> String {
    format!("¥{}", grouped_yuan(fen))
}

pub fn line_card(page: &PageContext, line: &Line) -> LineCard {
    LineCard {
        when: when(&line.finished_at),
        scenario: line.scenario_id.clone(),
        team: line.team.clone(),
        resource: if line.model.is_empty() {
            page.code("resource", line.resource.as_str())
        } else {
            line.model.clone()
        },
        seconds: seconds(line.usage_millis),
        price: cny(line.fen_per_hour),
        cost: cny(line.cost_fen),
        sponsored: cny(line.sponsored_fen),
        subsidy: cny(line.subsidy_fen),
        own: cny(line.own_fen),
        refunded: line.refunded,
    }
}

#[derive(Serialize)]
struct AccountPage {
    id: String,
    name: String,
    month: String,
    balance: String,
    credit: String,
    subsidy_this_year: String,
    vouchers: Vec<VoucherCard>,
    lines: Vec<LineCard>,
    evaluations: i64,
    cost: String,
    sponsored: String,
    subsidy: String,
    own: String,
    csv: String,
}

#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    pub month: Option<String>,
}

/// `GET /organizations/{id}?month=YYYY-MM` — the organisation's members and the compute centre.
pub async fn show(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<OrganizationId>,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let month = query.into_inner().month.filter(|m| !m.is_empty());
    let statement = page
        .state
        .db
        .read(move |conn| {
            let organization = statements::organization_for(conn, &id, &user)?;
            statements::statement(conn, organization, month.as_deref())
        })
        .await?;
    let view = AccountPage {
        id: statement.organization.id.0.clone(),
        name: pick(
            page.lang,
            &statement.organization.name_zh,
            &statement.organization.name_en,
        ),
        month: statement.month.clone(),
        balance: cny(statement.balance_fen),
        credit: cny(statement.monthly_credit_fen),
        subsidy_this_year: cny(statement.subsidy_this_year_fen),
        vouchers: statement
            .vouchers
            .iter()
            .map(|v| VoucherCard {
                balance: cny(v.balance_fen),
                face_value: cny(v.face_value_fen),
                percent: v.subsidy_percent,
                scope: match &v.scope_id {
                    Some(target) => {
                        format!("{} {target}", page.code("voucher_scope", v.scope.as_str()))
                    }
                    None => page.code("voucher_scope", v.scope.as_str()),
                },
                valid: format!("{} – {}", when(&v.valid_from), when(&v.valid_until)),
                cap: cny(v.yearly_cap_fen),
                usable: v.usable,
            })
            .collect(),
        lines: statement
            .lines
            .iter()
            .map(|line| line_card(&page, line))
            .collect(),
        evaluations: statement.totals.evaluations,
        cost: cny(statement.totals.cost_fen),
        sponsored: cny(statement.totals.sponsored_fen),
        subsidy: cny(statement.totals.subsidy_fen),
        own: cny(statement.totals.own_fen),
        csv: format!(
            "/api/v1/organizations/{}/statement.csv?month={}",
            statement.organization.id, statement.month
        ),
    };
    let title = view.name.clone();
    page.render("pages/organization", &title, view).await
}
