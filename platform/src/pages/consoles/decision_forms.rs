//! The department judging page's forms: rubric, panel, award, announcement and answers.
//! Each parses its fields into the API's body, calls the same service, and either goes
//! back to the page (`?saved=`) or shows it again with the reason and what was typed.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::session::CsrfForm;
use crate::auth::{CurrentUser, DepartmentOrAdmin};
use crate::db::DbConnection;
use crate::db::ids::{ObjectionId, ScenarioId, TeamId, UserId};
use crate::db::models::users;
use crate::error::AppError;
use crate::pages::{PageContext, see_other};
use crate::services::awards::{self, AwardForm, TextForm, WinnerForm};
use crate::services::judging::{self, MAX_CRITERIA, RubricForm};
use crate::validate::{Checks, FieldProblem};

use super::decision::{AwardFields, Refusal, RubricRow, decision_view};
use super::{form_problems, refused};

type Fields = Vec<(String, String)>;

fn value<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Back to the page after a change, or the page again with the refusal.
async fn answer(
    page: &PageContext,
    user: &CurrentUser,
    id: &ScenarioId,
    section: &'static str,
    outcome: Result<(), AppError>,
    refusal: impl FnOnce(String) -> Refusal,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Ok(()) => Ok(see_other(&format!(
            "/console/scenarios/{id}/judging?saved={section}#{section}"
        ))),
        Err(error) => {
            // Field problems are shown beside their fields and, for forms without a place
            // for them, listed above; anything else above the form.
            let listed = page.error_text(&error);
            let problems = form_problems(page, error)?;
            let message = match (&problems.problem, section) {
                (Some(problem), _) => problem.clone(),
                (None, "award") => page.text("errors.invalid_field"),
                // The rubric's rows show their own problems; the rubric's as a whole above.
                (None, "rubric") => problems
                    .fields
                    .get("criteria")
                    .cloned()
                    .unwrap_or_else(|| page.text("errors.invalid_field")),
                (None, _) => listed,
            };
            let mut shown = refusal(message);
            shown.section = section;
            shown.fields = problems.fields;
            Ok(refused(
                decision_view(page, user, id, None, Some(shown)).await?,
            ))
        }
    }
}

/// Runs `work` as `user` on scenario `id` in one write transaction, once the form parsed.
async fn change<F: Send + 'static, T: Send + 'static>(
    page: &PageContext,
    user: &CurrentUser,
    id: &ScenarioId,
    form: Result<F, AppError>,
    work: impl FnOnce(&mut DbConnection, &CurrentUser, &ScenarioId, F) -> Result<T, AppError>
    + Send
    + 'static,
) -> Result<(), AppError> {
    let form = form?;
    let (user, id) = (user.clone(), id.clone());
    page.state
        .db
        .write(move |conn| work(conn, &user, &id, form).map(|_| ()))
        .await
}

/// The editor's `key_N`, `label_N`, … rows; rows left blank are skipped.
fn rubric_of(
    scenario: &ScenarioId,
    fields: &Fields,
) -> (Vec<RubricRow>, bool, Result<RubricForm, AppError>) {
    let blind = value(fields, "blind") == "on";
    let rows: Vec<RubricRow> = (0..MAX_CRITERIA + 2)
        .map(|n| RubricRow {
            index: n,
            key: value(fields, &format!("key_{n}")).trim().to_owned(),
            label: value(fields, &format!("label_{n}")).trim().to_owned(),
            kind: value(fields, &format!("kind_{n}")).to_owned(),
            measure: value(fields, &format!("measure_{n}")).to_owned(),
            weight: value(fields, &format!("weight_{n}")).trim().to_owned(),
            guidance: value(fields, &format!("guidance_{n}")).trim().to_owned(),
        })
        .filter(|row| !(row.key.is_empty() && row.label.is_empty() && row.weight.is_empty()))
        .enumerate()
        .map(|(index, row)| RubricRow { index, ..row })
        .collect();
    // Every row's unreadable weight, and the service's problems with the rest, at once.
    let mut checks = Checks::default();
    let mut criteria = Vec::with_capacity(rows.len());
    for row in &rows {
        let weight = row.weight.parse::<i64>().unwrap_or_else(|_| {
            checks.push(
                FieldProblem::new(
                    &format!("criteria[{}].weight", row.index),
                    "out_of_range",
                    "must be a whole number from 1 to 100",
                )
                .with("min", 1)
                .with("max", 100),
            );
            0
        });
        let measure = (!row.measure.is_empty()).then_some(row.measure.as_str());
        criteria.push(json!({"key": row.key, "label": row.label, "kind": row.kind,
                             "measure": measure, "weight": weight, "guidance": row.guidance}));
    }
    let form: Result<RubricForm, AppError> =
        serde_json::from_value(json!({"blind": blind, "criteria": criteria}))
            .map_err(|e| AppError::unacceptable("invalid_field", e.to_string()));
    if !checks.is_empty()
        && let Ok(form) = &form
        && let Err(AppError::Fields(more)) = judging::checked_criteria(scenario, form)
    {
        for problem in more {
            checks.push(problem);
        }
    }
    let form = checks.finish().and(form);
    (rows, blind, form)
}

/// `POST /console/scenarios/{id}/rubric` — `PUT /api/v1/scenarios/{id}/rubric`'s rules.
pub async fn set_rubric(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (rows, blind, form) = rubric_of(&id, &fields);
    let outcome = change(&page, &user, &id, form, |conn, user, id, form| {
        judging::set_rubric(conn, user, id, &form)
    })
    .await;
    answer(&page, &user, &id, "rubric", outcome, |message| Refusal {
        message,
        rubric: Some((rows, blind)),
        ..Refusal::default()
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct JudgeFields {
    #[serde(default)]
    pub login: String,
}

/// `POST /console/scenarios/{id}/panel` — puts the judge with this sign-in name on the panel.
pub async fn assign(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<JudgeFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let login = fields.login.trim().trim_start_matches('@').to_owned();
    let outcome = change(&page, &user, &id, Ok(login), |conn, user, id, login| {
        let judge = users::find_by_login(conn, &login)?.ok_or_else(|| {
            AppError::from(
                FieldProblem::new(
                    "login",
                    "unknown_user",
                    format!("no user signs in as `{login}`"),
                )
                .with("login", &login),
            )
        })?;
        judging::assign_judge(conn, user, id, &judge.id)
    })
    .await;
    answer(&page, &user, &id, "panel", outcome, Refusal::plain).await
}

/// `POST /console/scenarios/{id}/panel/{judge}/remove` — takes the judge off the panel.
pub async fn unassign(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<(ScenarioId, UserId)>,
    CsrfForm(_): CsrfForm<Fields>,
) -> Result<HttpResponse, AppError> {
    let (id, judge) = path.into_inner();
    let outcome = change(&page, &user, &id, Ok(judge), |conn, user, id, judge| {
        judging::remove_judge(conn, user, id, &judge)
    })
    .await;
    answer(&page, &user, &id, "panel", outcome, Refusal::plain).await
}

/// Yuan as typed (`60000`, `60,000.5`, `60000.50`) in fen; `None` when it is not an amount.
pub(super) fn fen_of(text: &str) -> Option<i64> {
    let text = text.trim().replace([',', '，'], "");
    let (whole, fraction) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || fraction.len() > 2 || !digits(fraction) {
        return None;
    }
    let cents: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<2}").parse().ok()?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

/// The award form: `winner_<team>`, `amount_<team>` (yuan), `reason_<team>`, `reasons`,
/// `objection_days`.
fn award_of(fields: &Fields) -> (AwardFields, AwardForm, Checks) {
    let mut sent = AwardFields {
        rows: HashMap::new(),
        reasons: value(fields, "reasons").to_owned(),
        objection_days: value(fields, "objection_days").trim().to_owned(),
    };
    for (name, _) in fields {
        if let Some(team) = name.strip_prefix("amount_") {
            sent.rows.insert(
                team.to_owned(),
                (
                    value(fields, &format!("winner_{team}")) == "on",
                    value(fields, name).trim().to_owned(),
                    value(fields, &format!("reason_{team}")).to_owned(),
                ),
            );
        }
    }
    // Every row and field is read, each problem kept, so the page names them all at once.
    let mut checks = Checks::default();
    let mut winners = Vec::new();
    // In the page's order, so the first ticked is the first winner.
    for (name, _) in fields {
        let Some(team) = name.strip_prefix("amount_") else {
            continue;
        };
        let Some((true, amount, reason)) = sent.rows.get(team) else {
            continue;
        };
        // A row whose amount is not one still goes to the service's checks (as 0, never
        // saved: the form is refused), so its reason's problem is named in the same answer.
        let amount_fen = fen_of(amount).unwrap_or_else(|| {
            checks.push(FieldProblem::new(
                &format!("amount_{team}"),
                "amount",
                "must be an amount in yuan, for example 60000 or 60000.50",
            ));
            0
        });
        winners.push(WinnerForm {
            team_id: TeamId::from(team),
            amount_fen,
            reason: reason.clone(),
        });
    }
    let days = if sent.objection_days.is_empty() {
        None
    } else {
        match sent.objection_days.parse::<i64>() {
            Ok(days) => Some(days),
            Err(_) => {
                checks.push(FieldProblem::new(
                    "objection_days",
                    "whole_number",
                    "must be a whole number of days",
                ));
                None
            }
        }
    };
    let form = AwardForm {
        winners,
        reasons: sent.reasons.trim().to_owned(),
        objection_days: days,
    };
    (sent, form, checks)
}

/// The award API's field names (`winners[1].amount_fen`) as the form's (`amount_<team>`),
/// so each problem shows beside what was typed.
fn award_field(form: &AwardForm, field: &str) -> String {
    let Some(rest) = field.strip_prefix("winners[") else {
        return field.to_owned();
    };
    let Some((index, name)) = rest.split_once("].") else {
        return field.to_owned();
    };
    let team = index
        .parse::<usize>()
        .ok()
        .and_then(|i| form.winners.get(i))
        .map(|w| w.team_id.as_str());
    match (team, name) {
        (Some(team), "amount_fen") => format!("amount_{team}"),
        (Some(team), "reason") => format!("reason_{team}"),
        (Some(team), _) => format!("winner_{team}"),
        (None, _) => field.to_owned(),
    }
}

/// `POST /console/scenarios/{id}/award` — `PUT /api/v1/scenarios/{id}/award`'s rules.
pub async fn decide(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (sent, form, checks) = award_of(&fields);
    let named = form.clone();
    let outcome = change(&page, &user, &id, Ok(form), |conn, user, id, form| {
        awards::decide_with(conn, user, id, &form, checks)
    })
    .await
    .map_err(|error| match error {
        AppError::Fields(problems) => AppError::Fields(
            problems
                .into_iter()
                .map(|p| FieldProblem {
                    field: award_field(&named, &p.field),
                    ..p
                })
                .collect(),
        ),
        other => other,
    });
    answer(&page, &user, &id, "award", outcome, |message| Refusal {
        message,
        award: Some(sent),
        ..Refusal::default()
    })
    .await
}

/// `POST /console/scenarios/{id}/award/announce` — only with the confirmation ticked.
pub async fn announce(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let confirmed = if value(&fields, "confirm") == "on" {
        Ok(())
    } else {
        Err(FieldProblem::new(
            "confirm",
            "confirm_announce",
            "tick the box to confirm: once announced, the award no longer changes",
        )
        .into())
    };
    let outcome = change(&page, &user, &id, confirmed, |conn, user, id, ()| {
        awards::announce(conn, user, id)
    })
    .await;
    answer(&page, &user, &id, "announce", outcome, Refusal::plain).await
}

#[derive(Debug, Deserialize)]
pub struct TextFields {
    #[serde(default)]
    pub text: String,
}

/// `POST /console/scenarios/{id}/objections/{objection}/answer` — the department, once.
pub async fn answer_objection(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<(ScenarioId, ObjectionId)>,
    CsrfForm(fields): CsrfForm<TextFields>,
) -> Result<HttpResponse, AppError> {
    let (id, objection) = path.into_inner();
    let form = TextForm { text: fields.text };
    let outcome = change(&page, &user, &id, Ok(form), move |conn, user, id, form| {
        awards::answer(conn, user, id, &objection, &form)
    })
    .await;
    answer(&page, &user, &id, "answer", outcome, Refusal::plain).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_as_typed_in_fen() {
        assert_eq!(fen_of("60000"), Some(6_000_000));
        assert_eq!(fen_of(" 60,000.5 "), Some(6_000_050));
        assert_eq!(fen_of("0.05"), Some(5));
        for bad in ["", "-1", "1.234", "abc", "1e5", ".5"] {
            assert_eq!(fen_of(bad), None, "{bad}");
        }
    }
}
