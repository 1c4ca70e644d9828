//! The public announcement (公示) of a scenario's award: finalists with totals, the award,
//! the objection period in Beijing time, objections with their answers, and the form that
//! lets anyone signed in object while the period runs.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::session::CsrfForm;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::pages::paging::grouped_yuan;
use crate::pages::scenarios::{pick, when};
use crate::pages::{PageContext, see_other};
use crate::services::awards::{self, AnnouncementView, AwardState, FinalistsView, TextForm};

#[derive(Serialize)]
struct WinnerLine {
    team: String,
    institution: String,
    amount: String,
    reason: String,
}

#[derive(Serialize)]
struct FinalistLine {
    place: usize,
    team: String,
    institution: String,
    total: String,
    points: Vec<String>,
}

#[derive(Serialize)]
struct ObjectionLine {
    text: String,
    filed_at: String,
    answer: Option<String>,
    answered_at: Option<String>,
}

#[derive(Serialize)]
struct AnnouncementPage {
    scenario_id: String,
    title: String,
    state: String,
    state_label: String,
    is_final: bool,
    open: bool,
    bounty: String,
    awarded: String,
    reasons: String,
    announced_at: String,
    closes_at: String,
    winners: Vec<WinnerLine>,
    criteria_heads: Vec<String>,
    finalists: Vec<FinalistLine>,
    objections: Vec<ObjectionLine>,
    signed_in: bool,
    filed: bool,
    problem: Option<String>,
    text: String,
}

/// The state's words on the page.
fn state_label(page: &PageContext, state: AwardState) -> String {
    page.text(&format!("judging.award_state_{state}"))
}

fn lines(view: &AnnouncementView) -> (Vec<String>, Vec<FinalistLine>) {
    let FinalistsView::Public(finalists) = &view.finalists else {
        return (Vec::new(), Vec::new());
    };
    let heads = finalists
        .first()
        .map(|f| {
            f.criteria
                .iter()
                .map(|c| format!("{} ({})", c.label, c.weight))
                .collect()
        })
        .unwrap_or_default();
    let lines = finalists
        .iter()
        .map(|f| FinalistLine {
            place: f.place,
            team: f.team_name.clone(),
            institution: f.institution.clone(),
            total: format!("{:.2}", f.total),
            points: f
                .criteria
                .iter()
                .map(|c| format!("{:.2}", c.points))
                .collect(),
        })
        .collect();
    (heads, lines)
}

async fn announcement_view(
    page: &PageContext,
    id: ScenarioId,
    filed: bool,
    refused: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let visibility = MaybeUser(page.user.clone()).visibility();
    let view = page
        .state
        .db
        .read(move |conn| awards::announcement(conn, &visibility, &id))
        .await?;
    let (criteria_heads, finalists) = lines(&view);
    let (text, problem) = match refused {
        Some((text, problem)) => (text, Some(problem)),
        None => (String::new(), None),
    };
    let title = pick(page.lang, &view.title_zh, &view.title_en);
    let data = AnnouncementPage {
        scenario_id: view.scenario_id.0.clone(),
        title: title.clone(),
        state: view.state.to_string(),
        state_label: state_label(page, view.state),
        is_final: view.state == AwardState::Final,
        open: view.state == AwardState::ObjectionPeriod,
        bounty: grouped_yuan(view.bounty_fen),
        awarded: grouped_yuan(view.awarded_fen),
        reasons: view.reasons.clone(),
        announced_at: view.announced_at.as_deref().map(when).unwrap_or_default(),
        closes_at: view
            .objections_close_at
            .as_deref()
            .map(when)
            .unwrap_or_default(),
        winners: view
            .winners
            .iter()
            .map(|w| WinnerLine {
                team: w.team_name.clone(),
                institution: w.institution.clone(),
                amount: grouped_yuan(w.amount_fen),
                reason: w.reason.clone(),
            })
            .collect(),
        criteria_heads,
        finalists,
        objections: view
            .objections
            .iter()
            .map(|o| ObjectionLine {
                text: o.text.clone(),
                filed_at: when(&o.filed_at),
                answer: o.answer.clone(),
                answered_at: o.answered_at.as_deref().map(when),
            })
            .collect(),
        signed_in: page.user.is_some(),
        filed,
        problem,
        text,
    };
    let heading = page.text("announcement.title").replace("{title}", &title);
    page.render("pages/announcement", &heading, data).await
}

#[derive(Debug, Deserialize)]
pub struct FiledQuery {
    pub filed: Option<String>,
}

/// `GET /scenarios/{id}/announcement` — to whoever sees the scenario, once announced.
pub async fn show(
    page: PageContext,
    path: web::Path<ScenarioId>,
    query: web::Query<FiledQuery>,
) -> Result<HttpResponse, AppError> {
    announcement_view(&page, path.into_inner(), query.filed.is_some(), None).await
}

#[derive(Debug, Deserialize)]
pub struct ObjectionFields {
    #[serde(default)]
    pub text: String,
}

/// `POST /scenarios/{id}/objections` — `POST /api/v1/scenarios/{id}/objections`' rules.
pub async fn object(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<ObjectionFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let outcome = {
        let id = id.clone();
        let form = TextForm {
            text: fields.text.clone(),
        };
        page.state
            .db
            .write(move |conn| awards::object(conn, &user, &id, &form))
            .await
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/scenarios/{id}/announcement?filed=1#objections"
        ))),
        Err(error) => {
            let problem = super::consoles::fixable(&page, error)?;
            let mut response =
                announcement_view(&page, id, false, Some((fields.text, problem))).await?;
            *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}
