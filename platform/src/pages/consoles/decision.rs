//! The department's judging page: rubric editor, panel, progress matrix, aggregation with
//! spread and identical-image flags, the award form, the announcement and the objections.
//! Its forms post to [`super::decision_forms`]; every change goes through the services.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::DepartmentOrAdmin;
use crate::db::ids::ScenarioId;
use crate::db::models::judging::Criterion;
use crate::db::models::scenarios::Scenario;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::paging::grouped_yuan;
use crate::pages::scenarios::{pick, when};
use crate::services::awards::AnnouncementView;
use crate::services::judging::{self, JudgingView, MAX_CRITERIA};

use super::Choice;

/// One row of the rubric editor, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct RubricRow {
    pub index: usize,
    pub key: String,
    pub label: String,
    pub kind: String,
    pub measure: String,
    pub weight: String,
    pub guidance: String,
}

/// One finalist's line of the award form, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct AwardRow {
    pub team_id: String,
    pub team: String,
    pub total: String,
    pub winner: bool,
    pub amount: String,
    pub reason: String,
    /// What is wrong with this row's choice, amount and reason, beside each.
    pub winner_error: Option<String>,
    pub amount_error: Option<String>,
    pub reason_error: Option<String>,
}

/// The award form as typed: a line per finalist, the reasons and the objection period.
#[derive(Debug, Clone, Default)]
pub(super) struct AwardFields {
    pub rows: HashMap<String, (bool, String, String)>,
    pub reasons: String,
    pub objection_days: String,
}

/// A refused form: where it was, why, and what was typed, shown again.
#[derive(Default)]
pub(super) struct Refusal {
    pub section: &'static str,
    pub message: String,
    /// Each wrong field's problem in the page's language, by the form's field name.
    pub fields: std::collections::BTreeMap<String, String>,
    pub rubric: Option<(Vec<RubricRow>, bool)>,
    pub award: Option<AwardFields>,
}

impl Refusal {
    /// A refusal that keeps nothing typed (the form was a button or a line).
    pub(super) fn plain(message: String) -> Self {
        Self {
            message,
            ..Self::default()
        }
    }
}

#[derive(Serialize)]
struct Selectable {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct RubricLine {
    #[serde(flatten)]
    row: RubricRow,
    /// The row's number as people count, from 1 (`index` names the form's fields).
    number: usize,
    /// What the row is, in words: its measure, or "judged".
    kind_label: String,
    kinds: Vec<Selectable>,
    measures: Vec<Selectable>,
    /// What is wrong with each of the row's fields (`key`, `label`, `measure`, `weight`,
    /// `guidance`), beside it, after a refused save.
    errors: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct JudgeRow {
    judge_id: String,
    name: String,
    declared_at: Option<String>,
    affiliations: String,
}

#[derive(Serialize)]
struct Cell {
    state: String,
    label: String,
    reason: Option<String>,
}

#[derive(Serialize)]
struct MatrixRow {
    judge: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct TotalRow {
    place: usize,
    team: String,
    institution: String,
    cells: Vec<String>,
    total: String,
    sheets: usize,
    identical: Option<String>,
    report_url: Option<String>,
}

#[derive(Serialize)]
struct WinnerLine {
    team: String,
    amount: String,
    reason: String,
}

#[derive(Serialize)]
struct AwardSummary {
    state: String,
    state_label: String,
    winners: Vec<WinnerLine>,
    reasons: String,
    awarded: String,
    decided_at: String,
    announced_at: Option<String>,
    closes_at: Option<String>,
}

#[derive(Serialize)]
struct ObjectionRow {
    id: String,
    filed_by: String,
    text: String,
    filed_at: String,
    answer: Option<String>,
    answered_at: Option<String>,
}

#[derive(Serialize)]
struct DecisionPage {
    scenario_id: String,
    title: String,
    bounty: String,
    closed: bool,
    rubric_set: bool,
    blind: bool,
    panel_finished: bool,
    rubric: Vec<RubricLine>,
    panel: Vec<JudgeRow>,
    matrix_heads: Vec<String>,
    matrix: Vec<MatrixRow>,
    criteria_heads: Vec<String>,
    totals: Vec<TotalRow>,
    award: Option<AwardSummary>,
    award_rows: Vec<AwardRow>,
    award_reasons: String,
    objection_days: String,
    /// Problems of the award form's own fields (`winners`, `reasons`, `objection_days`).
    award_errors: std::collections::BTreeMap<String, String>,
    award_editable: bool,
    can_announce: bool,
    announced: bool,
    objections: Vec<ObjectionRow>,
    saved: Option<String>,
    problem: Option<String>,
    problem_in: String,
}

fn rubric_rows(criteria: &[Criterion]) -> Vec<RubricRow> {
    criteria
        .iter()
        .enumerate()
        .map(|(index, c)| RubricRow {
            index,
            key: c.criterion.clone(),
            label: c.label.clone(),
            kind: c.kind.to_string(),
            measure: c.measure.map(|m| m.to_string()).unwrap_or_default(),
            weight: c.weight.to_string(),
            guidance: c.guidance.clone(),
        })
        .collect()
}

/// The rows typed or stored and, while the rubric may still change, blank ones to add
/// criteria with (up to the limit).
fn rubric_lines(
    page: &PageContext,
    mut rows: Vec<RubricRow>,
    locked: bool,
    problems: &std::collections::BTreeMap<String, String>,
) -> Vec<RubricLine> {
    let blanks = if locked {
        0
    } else {
        (MAX_CRITERIA.saturating_sub(rows.len())).min(2)
    };
    for _ in 0..blanks {
        rows.push(RubricRow {
            index: rows.len(),
            kind: "judged".into(),
            ..RubricRow::default()
        });
    }
    let (kinds, measures) = super::panel::kind_choices(page);
    let select = |choices: &[Choice], current: &str| -> Vec<Selectable> {
        choices
            .iter()
            .map(|c| Selectable {
                value: c.value.clone(),
                label: c.label.clone(),
                selected: c.value == current,
            })
            .collect()
    };
    let label_of = |choices: &[Choice], value: &str| {
        choices
            .iter()
            .find(|c| c.value == value)
            .map(|c| c.label.clone())
            .unwrap_or_default()
    };
    rows.into_iter()
        .map(|row| RubricLine {
            number: row.index + 1,
            kind_label: if row.measure.is_empty() {
                label_of(&kinds, &row.kind)
            } else {
                format!(
                    "{} · {}",
                    label_of(&kinds, &row.kind),
                    label_of(&measures, &row.measure)
                )
            },
            kinds: select(&kinds, &row.kind),
            measures: select(&measures, &row.measure),
            // The service names a row's field `criteria[N].name`.
            errors: problems
                .iter()
                .filter_map(|(field, problem)| {
                    let name = field.strip_prefix(&format!("criteria[{}].", row.index))?;
                    // Four fields share a line: each problem names its field.
                    let said = if name == "guidance" {
                        // On a line of its own, under its label.
                        problem.clone()
                    } else {
                        page.text_with(
                            "console.field_problem",
                            &[
                                ("label", &page.text(&format!("judging.{name}"))),
                                ("problem", problem),
                            ],
                        )
                    };
                    Some((name.to_owned(), said))
                })
                .collect(),
            row,
        })
        .collect()
}

fn matrix(page: &PageContext, view: &JudgingView) -> (Vec<String>, Vec<MatrixRow>) {
    let mut heads: Vec<String> = Vec::new();
    for p in &view.progress {
        if !heads.contains(&p.team_name) {
            heads.push(p.team_name.clone());
        }
    }
    let rows = view
        .panel
        .iter()
        .map(|judge| MatrixRow {
            judge: format!("{} (@{})", judge.display_name, judge.login),
            cells: view
                .progress
                .iter()
                .filter(|p| p.judge_id == judge.judge_id)
                .map(|p| Cell {
                    state: p.state.to_string(),
                    label: page.text(&format!("judging.state_{}", p.state)),
                    reason: p
                        .reason
                        .as_ref()
                        .map(|c| super::panel::conflict_text(page, c)),
                })
                .collect(),
        })
        .collect();
    (heads, rows)
}

fn totals(page: &PageContext, view: &JudgingView) -> Vec<TotalRow> {
    view.finalists
        .iter()
        .enumerate()
        .map(|(index, f)| TotalRow {
            place: index + 1,
            team: f.team_name.clone(),
            institution: f.institution.clone(),
            cells: f
                .criteria
                .iter()
                .map(|c| match (&c.measured, &c.judged) {
                    (Some(value), _) => format!("{:.2} ({value})", c.points),
                    (_, Some(j)) => format!(
                        "{:.2} ({} {:.2}, {} {})",
                        c.points,
                        page.text(if j.trimmed {
                            "judging.trimmed_mean"
                        } else {
                            "judging.mean"
                        }),
                        j.value,
                        page.text("judging.spread"),
                        j.spread
                    ),
                    _ => format!("{:.2}", c.points),
                })
                .collect(),
            total: format!("{:.2}", f.total),
            sheets: f.sheets,
            identical: (!f.identical_image_teams.is_empty())
                .then(|| f.identical_image_teams.join("、")),
            report_url: f.technical_report.as_ref().map(|r| r.url.clone()),
        })
        .collect()
}

fn award_rows(view: &JudgingView, award: Option<&AnnouncementView>) -> Vec<AwardRow> {
    view.finalists
        .iter()
        .map(|f| {
            let winner = award.and_then(|a| a.winners.iter().find(|w| w.team_id == f.team_id));
            AwardRow {
                team_id: f.team_id.0.clone(),
                team: f.team_name.clone(),
                total: format!("{:.2}", f.total),
                winner: winner.is_some(),
                amount: winner.map(|w| w.amount_cny.clone()).unwrap_or_default(),
                reason: winner.map(|w| w.reason.clone()).unwrap_or_default(),
                winner_error: None,
                amount_error: None,
                reason_error: None,
            }
        })
        .collect()
}

fn summary(page: &PageContext, award: &AnnouncementView) -> AwardSummary {
    AwardSummary {
        state: award.state.to_string(),
        state_label: page.text(&format!("judging.award_state_{}", award.state)),
        winners: award
            .winners
            .iter()
            .map(|w| WinnerLine {
                team: w.team_name.clone(),
                amount: grouped_yuan(w.amount_fen),
                reason: w.reason.clone(),
            })
            .collect(),
        reasons: award.reasons.clone(),
        awarded: grouped_yuan(award.awarded_fen),
        decided_at: when(&award.decided_at),
        announced_at: award.announced_at.as_deref().map(when),
        closes_at: award.objections_close_at.as_deref().map(when),
    }
}

/// The scenario and its whole judging record, for its department or an admin.
pub(super) async fn load_record(
    page: &PageContext,
    user: &crate::auth::CurrentUser,
    id: &ScenarioId,
) -> Result<(Scenario, JudgingView, Option<AnnouncementView>), AppError> {
    let (user, id) = (user.clone(), id.clone());
    page.state
        .db
        .read(move |conn| judging::record(conn, &user, &id))
        .await
}

/// Renders the department's judging page, with a refused form's message and values.
pub(super) async fn decision_view(
    page: &PageContext,
    user: &crate::auth::CurrentUser,
    id: &ScenarioId,
    saved: Option<String>,
    refusal: Option<Refusal>,
) -> Result<HttpResponse, AppError> {
    let (scenario, view, award) = load_record(page, user, id).await?;
    let refusal = refusal.unwrap_or_default();
    let (rows, blind) = refusal
        .rubric
        .unwrap_or_else(|| (rubric_rows(&view.rubric), view.blind));
    let announced = award.as_ref().is_some_and(|a| a.announced_at.is_some());
    let mut award_lines = award_rows(&view, award.as_ref());
    let (award_reasons, objection_days) = match &refusal.award {
        Some(sent) => {
            for line in &mut award_lines {
                if let Some((winner, amount, reason)) = sent.rows.get(&line.team_id) {
                    line.winner = *winner;
                    line.amount.clone_from(amount);
                    line.reason.clone_from(reason);
                }
                let error = |name: &str| refusal.fields.get(&format!("{name}_{}", line.team_id));
                line.winner_error = error("winner").cloned();
                line.amount_error = error("amount").cloned();
                line.reason_error = error("reason").cloned();
            }
            (sent.reasons.clone(), sent.objection_days.clone())
        }
        None => (
            award
                .as_ref()
                .map(|a| a.reasons.clone())
                .unwrap_or_default(),
            award.as_ref().map_or(5, |a| a.objection_days).to_string(),
        ),
    };
    let (matrix_heads, matrix) = matrix(page, &view);
    let empty = std::collections::BTreeMap::new();
    let data = DecisionPage {
        scenario_id: scenario.id.0.clone(),
        title: pick(page.lang, &scenario.title_zh, &scenario.title_en),
        bounty: grouped_yuan(scenario.bounty_cny.saturating_mul(100)),
        closed: view.final_phase_closed,
        rubric_set: view.rubric_set,
        blind,
        panel_finished: view.panel_finished,
        rubric: rubric_lines(
            page,
            rows,
            view.final_phase_closed,
            if refusal.section == "rubric" {
                &refusal.fields
            } else {
                &empty
            },
        ),
        panel: view
            .panel
            .iter()
            .map(|j| JudgeRow {
                judge_id: j.judge_id.0.clone(),
                name: format!("{} (@{})", j.display_name, j.login),
                declared_at: j.declared_at.as_deref().map(when),
                affiliations: if j.declared_at.is_some() && j.affiliations.is_empty() {
                    page.text("judging.declared_none")
                } else {
                    j.affiliations.join("、")
                },
            })
            .collect(),
        matrix_heads,
        matrix,
        criteria_heads: view
            .rubric
            .iter()
            .map(|c| format!("{} ({})", c.label, c.weight))
            .collect(),
        totals: totals(page, &view),
        award_editable: view.final_phase_closed && !announced && !view.finalists.is_empty(),
        can_announce: award.is_some() && !announced,
        announced,
        award: award.as_ref().map(|a| summary(page, a)),
        award_rows: award_lines,
        award_reasons,
        objection_days,
        award_errors: refusal.fields.clone(),
        objections: award
            .as_ref()
            .map(|a| {
                a.objections
                    .iter()
                    .map(|o| ObjectionRow {
                        id: o.id.as_str().to_owned(),
                        filed_by: o.filed_by.clone().unwrap_or_default(),
                        text: o.text.clone(),
                        filed_at: when(&o.filed_at),
                        answer: o.answer.clone(),
                        answered_at: o.answered_at.as_deref().map(when),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        saved,
        problem: (!refusal.message.is_empty()).then_some(refusal.message),
        problem_in: refusal.section.to_owned(),
    };
    let heading = page.text("judging.decision_title");
    page.render("console/decision", &heading, data).await
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    pub saved: Option<String>,
}

/// `GET /console/scenarios/{id}/judging` — the department (or an admin).
pub async fn decision(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let saved = query
        .saved
        .clone()
        .filter(|s| ["rubric", "panel", "award", "announce", "answer"].contains(&s.as_str()));
    decision_view(&page, &user, &path.into_inner(), saved, None).await
}
