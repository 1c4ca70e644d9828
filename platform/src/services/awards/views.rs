//! What an award looks like to its readers: the department's full view and the public
//! announcement (公示), trimmed to what the public should see.

use serde::Serialize;

use super::{AwardState, yuan};
use crate::db::DbConnection;
use crate::db::ids::{ObjectionId, ScenarioId, TeamId};
use crate::db::models::awards::{self, Award, Objection};
use crate::db::models::judging::Criterion;
use crate::db::models::scenarios::Scenario;
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::judging::{self, FinalistAggregate};
use crate::time::iso_time;

#[derive(Debug, Serialize)]
pub struct WinnerView {
    pub team_id: TeamId,
    pub team_name: String,
    pub institution: String,
    pub amount_fen: i64,
    /// The amount in yuan with two decimals, for reading.
    pub amount_cny: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ObjectionView {
    pub id: ObjectionId,
    /// Who filed it: shown to the department, not on the public page.
    pub filed_by: Option<String>,
    pub text: String,
    pub filed_at: String,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
}

/// A finalist as the public announcement shows it: name, total and each criterion's
/// points — no image digests, submissions or judges' sheets.
#[derive(Debug, Serialize)]
pub struct PublicFinalist {
    /// 1 for the best total.
    pub place: usize,
    pub team_id: TeamId,
    pub team_name: String,
    pub institution: String,
    pub total: f64,
    pub criteria: Vec<PublicCriterion>,
}

#[derive(Debug, Serialize)]
pub struct PublicCriterion {
    pub key: String,
    pub label: String,
    pub weight: i32,
    pub points: f64,
}

/// The finalists of an announcement: all the decision weighed for the department, the
/// trimmed [`PublicFinalist`] for everyone else.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FinalistsView {
    Full(Vec<FinalistAggregate>),
    Public(Vec<PublicFinalist>),
}

fn public_finalists(
    finalists: Vec<FinalistAggregate>,
    rubric: &[Criterion],
) -> Vec<PublicFinalist> {
    finalists
        .into_iter()
        .enumerate()
        .map(|(index, f)| PublicFinalist {
            place: index + 1,
            team_id: f.team_id,
            team_name: f.team_name,
            institution: f.institution,
            total: f.total,
            criteria: f
                .criteria
                .into_iter()
                .map(|c| PublicCriterion {
                    label: rubric
                        .iter()
                        .find(|r| r.criterion == c.key)
                        .map_or_else(|| c.key.clone(), |r| r.label.clone()),
                    key: c.key,
                    weight: c.weight,
                    points: c.points,
                })
                .collect(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct AnnouncementView {
    pub scenario_id: ScenarioId,
    pub title_zh: String,
    pub title_en: String,
    pub state: AwardState,
    pub bounty_fen: i64,
    pub awarded_fen: i64,
    pub reasons: String,
    pub objection_days: i32,
    pub decided_at: String,
    pub announced_at: Option<String>,
    pub objections_close_at: Option<String>,
    pub winners: Vec<WinnerView>,
    /// Every finalist with its total, best first.
    pub finalists: FinalistsView,
    pub objections: Vec<ObjectionView>,
}

fn state_of(award: &Award, objections: &[(Objection, String)], now: i64) -> AwardState {
    match award.objections_close_at {
        None => AwardState::Decided,
        Some(close) if now < close => AwardState::ObjectionPeriod,
        Some(_) if objections.iter().any(|(o, _)| o.answer.is_none()) => {
            AwardState::AwaitingAnswers
        }
        Some(_) => AwardState::Final,
    }
}

pub(super) fn objection_view(objection: Objection, filed_by: Option<String>) -> ObjectionView {
    ObjectionView {
        id: objection.id,
        filed_by,
        text: objection.body,
        filed_at: iso_time(objection.filed_at),
        answer: objection.answer,
        answered_at: objection.answered_at.map(iso_time),
    }
}

pub(super) fn view(
    conn: &mut DbConnection,
    scenario: Scenario,
    for_department: bool,
) -> Result<AnnouncementView, AppError> {
    let award = find(conn, &scenario)?;
    let finalists = judging::aggregate_of(conn, scenario.clone())?;
    view_of(conn, scenario, award, finalists, for_department)
}

/// The scenario's award, or 404 before one is decided.
pub(super) fn find(conn: &mut DbConnection, scenario: &Scenario) -> Result<Award, AppError> {
    awards::find(conn, &scenario.id)?.ok_or_else(|| AppError::missing("award", &scenario.id))
}

/// The view of the award over the judging's aggregation, already computed.
pub(super) fn view_of(
    conn: &mut DbConnection,
    scenario: Scenario,
    award: Award,
    finalists: Vec<FinalistAggregate>,
    for_department: bool,
) -> Result<AnnouncementView, AppError> {
    let objections = awards::objections_of(conn, &scenario.id)?;
    let state = state_of(&award, &objections, now_millis());
    let winners = awards::winners_of(conn, &scenario.id)?;
    let winner_views = winners
        .iter()
        .map(|w| {
            let finalist = finalists.iter().find(|f| f.team_id == w.team_id);
            WinnerView {
                team_id: w.team_id.clone(),
                team_name: finalist.map_or_else(String::new, |f| f.team_name.clone()),
                institution: finalist.map_or_else(String::new, |f| f.institution.clone()),
                amount_fen: w.amount_fen,
                amount_cny: yuan(w.amount_fen),
                reason: w.reason.clone(),
            }
        })
        .collect();
    Ok(AnnouncementView {
        scenario_id: scenario.id.clone(),
        title_zh: scenario.title_zh.clone(),
        title_en: scenario.title_en.clone(),
        state,
        bounty_fen: scenario.bounty_cny.saturating_mul(100),
        awarded_fen: winners.iter().map(|w| w.amount_fen).sum(),
        reasons: award.reasons.clone(),
        objection_days: award.objection_days,
        decided_at: iso_time(award.decided_at),
        announced_at: award.announced_at.map(iso_time),
        objections_close_at: award.objections_close_at.map(iso_time),
        winners: winner_views,
        finalists: if for_department {
            FinalistsView::Full(finalists)
        } else {
            let rubric = crate::db::models::judging::criteria_of(conn, &scenario.id)?;
            FinalistsView::Public(public_finalists(finalists, &rubric))
        },
        objections: objections
            .into_iter()
            .map(|(o, login)| objection_view(o, for_department.then_some(login)))
            .collect(),
    })
}
