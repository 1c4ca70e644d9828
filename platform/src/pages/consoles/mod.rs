//! The consoles as pages: the department's (its scenarios, create, edit, phases, publish,
//! sponsorship, judging and the award), the judge's (panels and scoring, every board, side-by-side
//! comparison, reviews) and the operator's (workers, queue, utilisation). Every change goes
//! through the same function as the JSON API; a refused form is shown again with the reason
//! and nothing changed.

mod admin;
mod decision;
mod decision_forms;
mod department;
mod judge;
mod operator;
mod package_changes;
mod panel;
mod record;
mod sponsorship;
mod utilisation;

pub use admin::{admin, audit_log, create_organization, create_user, issue_token};
pub use decision::decision;
pub use decision_forms::{announce, answer_objection, assign, decide, set_rubric, unassign};
pub use department::{
    add_phase, create_scenario, delete_phase, department, edit_scenario, new_scenario, publish,
    update_phase, update_scenario, upload_package,
};
pub use judge::{compare, judge, review, review_page};
pub use operator::operator;
pub use panel::{declare, panel, score, score_page};
pub use record::record;
pub use sponsorship::sponsor;
pub use utilisation::{utilisation, utilisation_csv};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use crate::db::ids::OrganizationId;
use crate::db::models::scenarios::{ScenarioFilter, Visibility};
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::paging::{Pager, ROWS_PER_PAGE, page_number};
use crate::pages::scenarios::pick;
use crate::services::scenarios::{ScenarioView, list_views};

/// The message to show next to a refused form, for refusals the sender can fix; anything
/// else (not allowed, not found, a fault) stays an error page.
pub(crate) fn fixable(page: &PageContext, error: AppError) -> Result<String, AppError> {
    match error.status_code().as_u16() {
        400 | 409 | 413 | 422 => Ok(page.error_text(&error)),
        _ => Err(error),
    }
}

/// A refused form's problems in the page's language: one beside each field that has one,
/// anything else above the form.
#[derive(Debug, Default, Serialize)]
pub(crate) struct FormProblems {
    pub fields: std::collections::BTreeMap<String, String>,
    pub problem: Option<String>,
}

pub(crate) fn form_problems(page: &PageContext, error: AppError) -> Result<FormProblems, AppError> {
    match error {
        AppError::Fields(problems) => Ok(FormProblems {
            fields: problems
                .iter()
                .map(|p| (p.field.clone(), page.field_problem(p)))
                .collect(),
            problem: None,
        }),
        other => match other.status_code().as_u16() {
            400 | 409 | 413 | 422 => Ok(FormProblems {
                fields: std::collections::BTreeMap::new(),
                problem: Some(page.error_text(&other)),
            }),
            _ => Err(other),
        },
    }
}

pub(crate) fn refused(mut response: HttpResponse) -> HttpResponse {
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

fn status_name(page: &PageContext, view: &ScenarioView) -> String {
    page.text(&format!("status.{}", view.status))
}

#[derive(Serialize)]
struct ScenarioList {
    scenarios: Vec<ScenarioRow>,
    pager: Pager,
}

/// `?page=&per_page=` of a console's list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

fn rows(page: &PageContext, views: Vec<ScenarioView>) -> Vec<ScenarioRow> {
    views
        .into_iter()
        .map(|v| ScenarioRow {
            status: status_name(page, &v),
            title: pick(page.lang, &v.title_zh, &v.title_en),
            public_url: format!("/scenarios/{}", v.id),
            edit_url: format!("/console/scenarios/{}/edit", v.id),
            judging_url: format!("/console/scenarios/{}/judging", v.id),
            private_url: format!("/scenarios/{}/leaderboard?board=private", v.id),
            id: v.id.0,
        })
        .collect()
}

/// One page of the scenarios `visibility` shows (of `organizations` only, when given),
/// newest first as the opportunity list orders them, with its pager.
async fn scenario_list(
    page: &PageContext,
    visibility: Visibility,
    organizations: Option<Vec<OrganizationId>>,
    query: &ListQuery,
) -> Result<ScenarioList, AppError> {
    let paging = page_number(query.page, query.per_page, ROWS_PER_PAGE)?;
    let filter = ScenarioFilter {
        organizations,
        ..ScenarioFilter::default()
    };
    let list = page
        .state
        .db
        .read(move |conn| list_views(conn, &filter, &visibility, paging))
        .await?;
    Ok(ScenarioList {
        pager: Pager::new(page, paging, list.items.len(), list.total, "page"),
        scenarios: rows(page, list.items),
    })
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Debug, Deserialize)]
pub struct EditQuery {
    pub saved: Option<String>,
}

#[derive(Serialize)]
struct ScenarioRow {
    id: String,
    title: String,
    status: String,
    public_url: String,
    edit_url: String,
    judging_url: String,
    private_url: String,
}
