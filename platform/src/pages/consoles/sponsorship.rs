//! The department's sponsorship of its scenario from the console's edit page: a free
//! allowance per team per day, typed in CNY, under the API's rule.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::department::{Typed, edit_with};
use crate::auth::DepartmentOrAdmin;
use crate::auth::session::CsrfForm;
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::services::billing::{self, parse_cny};
use crate::validate::FieldProblem;

#[derive(Debug, Deserialize)]
pub struct SponsorshipFields {
    /// CNY with up to two decimals; 0 ends the sponsorship.
    pub daily_cny_per_team: String,
}

/// `POST /console/scenarios/{id}/sponsorship` — `PUT /api/v1/scenarios/{id}/sponsorship`'s
/// rules.
pub async fn sponsor(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<SponsorshipFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let amount = parse_cny(&fields.daily_cny_per_team).map_err(|message| {
        AppError::from(FieldProblem::new(
            "daily_cny_per_team",
            "amount_cny",
            message,
        ))
    });
    let target = id.clone();
    // Refused, the form shows the amount exactly as typed, not the one in force.
    let typed = Typed::Sponsorship(fields.daily_cny_per_team);
    edit_with(page, user, id, "sponsorship", typed, move |conn, user| {
        billing::sponsor(conn, user, &target, amount?)
    })
    .await
}
