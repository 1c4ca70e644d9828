//! The award after judging: the department names the winners and splits the bounty, then
//! announces it (公示) for an objection period; objections are answered; the result is final
//! once the period is over and every objection has its answer.

mod views;

use std::collections::HashSet;

use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{ObjectionId, ScenarioId, TeamId};
use crate::db::models::audit;
use crate::db::models::awards::{self, Award, Objection, Winner};
use crate::db::models::notifications::{self, Notice, NotificationKind};
use crate::db::models::scenarios::{self, Scenario, Visibility};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::judging;
use crate::services::scenarios::{editable, visible};
use crate::time::iso_time;
use crate::validate::{Checks, FieldProblem};
use views::{objection_view, view, view_of};

pub use views::{
    AnnouncementView, FinalistsView, ObjectionView, PublicCriterion, PublicFinalist, WinnerView,
};

/// Days an announcement stays open to objections unless the department says otherwise.
pub const DEFAULT_OBJECTION_DAYS: i64 = 5;
/// The longest objection period a department may set, in days.
pub const MAX_OBJECTION_DAYS: i64 = 30;
/// The longest reason, objection or answer, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;

const DAY_MILLIS: i64 = 24 * 3600 * 1000;

/// The body of `PUT …/award`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardForm {
    pub winners: Vec<WinnerForm>,
    #[serde(default)]
    pub reasons: String,
    #[serde(default)]
    pub objection_days: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WinnerForm {
    pub team_id: TeamId,
    /// The winner's part of the bounty in CNY fen (1/100 yuan).
    pub amount_fen: i64,
    pub reason: String,
}

/// The body of an objection or of the department's answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextForm {
    pub text: String,
}

jiebang_scenarios::text_enum! {
    /// Where an award stands.
    pub enum AwardState: "award state" {
        /// Recorded by the department, not announced yet.
        Decided = "decided",
        /// Announced; anyone signed in may object until the period ends.
        ObjectionPeriod = "objection_period",
        /// The period is over but an objection still waits for its answer.
        AwaitingAnswers = "awaiting_answers",
        /// The period is over and every objection is answered: the result stands.
        Final = "final",
    }
}

/// Formats fen as yuan: `1234567` → `12345.67`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", fen / 100, fen % 100)
}

fn check_text(field: &str, text: &str) -> Result<(), FieldProblem> {
    if text.trim().is_empty() {
        return Err(FieldProblem::new(field, "required", "must not be empty"));
    }
    crate::validate::prose(field, text, MAX_TEXT_CHARS)
}

/// Records the award (replacing an earlier one) once the final phase has closed and until
/// it is announced: winners among the finalists, amounts summing to the bounty or less.
pub fn decide(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    form: &AwardForm,
) -> Result<AnnouncementView, AppError> {
    decide_with(conn, user, id, form, Checks::default())
}

/// `decide`, refusing the form together with `checks` (problems a page found parsing
/// what was typed), so every wrong field is named in one answer.
pub fn decide_with(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    form: &AwardForm,
    mut checks: Checks,
) -> Result<AnnouncementView, AppError> {
    let scenario = editable(conn, id, user)?;
    let phase = judging::final_phase(conn, &scenario)?;
    if now_millis() < phase.closes_at {
        return Err(AppError::conflict(
            "phase_open",
            format!(
                "the award is decided after the final phase closes at {}",
                iso_time(phase.closes_at)
            ),
        )
        .with("closes_at", iso_time(phase.closes_at)));
    }
    if awards::find(conn, &scenario.id)?.is_some_and(|a| a.announced_at.is_some()) {
        return Err(AppError::conflict(
            "award_announced",
            "the award has been announced; it no longer changes",
        ));
    }
    let days = form.objection_days.unwrap_or(DEFAULT_OBJECTION_DAYS);
    checks.check(crate::validate::within(
        "objection_days",
        days,
        1,
        MAX_OBJECTION_DAYS,
    ));
    if !form.reasons.is_empty() {
        checks.check(check_text("reasons", &form.reasons));
    }
    let finalists: HashSet<TeamId> = judging::finalists(conn, &scenario)?
        .into_iter()
        .map(|f| f.team_id)
        .collect();
    if form.winners.is_empty() {
        checks.push(FieldProblem::new(
            "winners",
            "no_winner",
            "must name at least one winner",
        ));
    }
    let mut seen = HashSet::new();
    let mut total: i64 = 0;
    let mut winners = Vec::with_capacity(form.winners.len());
    for (index, w) in form.winners.iter().enumerate() {
        let field = |name: &str| format!("winners[{index}].{name}");
        if !finalists.contains(&w.team_id) {
            checks.push(
                FieldProblem::new(
                    &field("team_id"),
                    "not_finalist",
                    format!("`{}` is not a finalist of this scenario", w.team_id),
                )
                .with("team", &w.team_id),
            );
        } else if !seen.insert(&w.team_id) {
            checks.push(
                FieldProblem::new(
                    &field("team_id"),
                    "named_twice",
                    format!("`{}` is named twice", w.team_id),
                )
                .with("team", &w.team_id),
            );
        }
        if w.amount_fen < 0 {
            checks.push(FieldProblem::new(
                &field("amount_fen"),
                "negative",
                "must not be negative",
            ));
        }
        checks.check(check_text(&field("reason"), &w.reason));
        total = total.saturating_add(w.amount_fen.max(0));
        winners.push(Winner {
            scenario_id: scenario.id.clone(),
            team_id: w.team_id.clone(),
            position: i32::try_from(index).unwrap_or(i32::MAX),
            amount_fen: w.amount_fen,
            reason: w.reason.clone(),
        });
    }
    let bounty = scenario.bounty_cny.saturating_mul(100);
    if total > bounty {
        checks.push(
            FieldProblem::new(
                "winners",
                "over_bounty",
                format!(
                    "the amounts sum to {} CNY, more than the bounty of {} CNY",
                    yuan(total),
                    yuan(bounty)
                ),
            )
            .with("total", yuan(total))
            .with("bounty", yuan(bounty)),
        );
    }
    checks.finish()?;
    let award = Award {
        scenario_id: scenario.id.clone(),
        reasons: form.reasons.clone(),
        // Bounded to 1–30 above.
        objection_days: i32::try_from(days).unwrap_or(5),
        decided_by: Some(user.id.clone()),
        decided_at: now_millis(),
        announced_at: None,
        objections_close_at: None,
    };
    awards::replace(conn, &award, &winners)?;
    audit::record(
        conn,
        Some(&user.id),
        "award.decide",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({
            "winners": winners.iter().map(|w| serde_json::json!({
                "team_id": w.team_id, "amount_fen": w.amount_fen,
            })).collect::<Vec<_>>(),
            "total_fen": total,
            "bounty_fen": bounty,
            "objection_days": days,
        }),
    )?;
    view(conn, scenario, true)
}

/// Publishes the announcement and starts the objection period.
pub fn announce(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
) -> Result<AnnouncementView, AppError> {
    let scenario = editable(conn, id, user)?;
    let award = awards::find(conn, &scenario.id)?
        .ok_or_else(|| AppError::conflict("no_award", "record the award before announcing it"))?;
    let now = now_millis();
    let closes_at = now + i64::from(award.objection_days) * DAY_MILLIS;
    if !awards::announce(conn, &scenario.id, now, closes_at)? {
        return Err(AppError::conflict(
            "award_announced",
            "the award has been announced already",
        ));
    }
    audit::record(
        conn,
        Some(&user.id),
        "award.announce",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({ "objections_close_at": iso_time(closes_at) }),
    )?;
    // The finalists' members: the announcement decides their fate.
    let notice = Notice::about_scenario(
        NotificationKind::AnnouncementPublished,
        &scenario,
        format!("/scenarios/{}/announcement", scenario.id),
    );
    for finalist in judging::finalists(conn, &scenario)? {
        notifications::notify_team(conn, &finalist.team_id, &notice)?;
    }
    view(conn, scenario, true)
}

/// The announced award of a scenario, or 404 before it is announced.
fn announced(conn: &mut DbConnection, scenario: &Scenario) -> Result<Award, AppError> {
    awards::find(conn, &scenario.id)?
        .filter(|a| a.announced_at.is_some())
        .ok_or_else(|| AppError::missing("announcement", &scenario.id))
}

/// Anyone signed in objects to an announced award while the period runs.
pub fn object(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    form: &TextForm,
) -> Result<ObjectionView, AppError> {
    let scenario = visible(conn, id, &user.visibility())?;
    let award = announced(conn, &scenario)?;
    let now = now_millis();
    if award.objections_close_at.is_some_and(|close| now >= close) {
        return Err(AppError::conflict(
            "objection_period_over",
            "the objection period is over",
        ));
    }
    check_text("text", &form.text)?;
    let objection = Objection {
        id: ObjectionId::generate(),
        scenario_id: scenario.id.clone(),
        filed_by: user.id.clone(),
        body: form.text.clone(),
        filed_at: now,
        answer: None,
        answered_by: None,
        answered_at: None,
    };
    awards::insert_objection(conn, &objection)?;
    audit::record(
        conn,
        Some(&user.id),
        "objection.file",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({ "objection_id": objection.id, "text_chars": form.text.chars().count() }),
    )?;
    notifications::notify_department(
        conn,
        &scenario.organization_id,
        &Notice::about_scenario(
            NotificationKind::ObjectionFiled,
            &scenario,
            format!("/console/scenarios/{}/award", scenario.id),
        ),
    )?;
    Ok(objection_view(objection, Some(user.login.clone())))
}

/// The department answers an objection, once.
pub fn answer(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    objection: &ObjectionId,
    form: &TextForm,
) -> Result<ObjectionView, AppError> {
    let scenario = editable(conn, id, user)?;
    check_text("text", &form.text)?;
    let found = awards::find_objection(conn, &scenario.id, objection)?
        .ok_or_else(|| AppError::missing("objection", objection))?;
    let now = now_millis();
    if !awards::answer(conn, &found.id, &form.text, &user.id, now)? {
        return Err(AppError::conflict(
            "already_answered",
            "the objection has its answer already",
        ));
    }
    audit::record(
        conn,
        Some(&user.id),
        "objection.answer",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({ "objection_id": found.id, "text_chars": form.text.chars().count() }),
    )?;
    notifications::notify(
        conn,
        std::slice::from_ref(&found.filed_by),
        &Notice::about_scenario(
            NotificationKind::ObjectionAnswered,
            &scenario,
            format!("/scenarios/{}/announcement", scenario.id),
        ),
    )?;
    // This answer may be the last one of a period already over: the result is final now.
    // Other scenarios' awards are the minute sweep's, not this request's.
    tell_final(conn, Some(&scenario.id))?;
    Ok(objection_view(
        Objection {
            answer: Some(form.text.clone()),
            answered_by: Some(user.id.clone()),
            answered_at: Some(now),
            ..found
        },
        None,
    ))
}

/// Tells every finalist team's members, once per award, that the award became final: the
/// objection period is over and every objection answered. Run by the minute-by-minute sweep
/// in `server.rs` (a period ends with no request to notice it); an answer tells its own
/// scenario's finalists at once. `final_notified_at` makes a second run tell nobody.
/// Returns how many awards were told of.
pub fn notify_final(conn: &mut DbConnection) -> Result<usize, AppError> {
    tell_final(conn, None)
}

/// [`notify_final`] for every scenario, or for `only` that one.
fn tell_final(conn: &mut DbConnection, only: Option<&ScenarioId>) -> Result<usize, AppError> {
    let now = now_millis();
    let mut told = 0;
    for id in awards::final_untold(conn, now, only)? {
        let Some(scenario) = scenarios::find(conn, &id)? else {
            continue;
        };
        if !awards::mark_final_told(conn, &id, now)? {
            continue;
        }
        let notice = Notice::about_scenario(
            NotificationKind::ResultFinal,
            &scenario,
            format!("/scenarios/{id}/announcement"),
        );
        for finalist in judging::finalists(conn, &scenario)? {
            notifications::notify_team(conn, &finalist.team_id, &notice)?;
        }
        told += 1;
    }
    Ok(told)
}

/// The public announcement (公示) to whoever sees the scenario, once announced.
pub fn announcement(
    conn: &mut DbConnection,
    viewer: &Visibility,
    id: &ScenarioId,
) -> Result<AnnouncementView, AppError> {
    let scenario = visible(conn, id, viewer)?;
    let award = announced(conn, &scenario)?;
    let finalists = judging::aggregate_of(conn, scenario.clone())?;
    view_of(conn, scenario, award, finalists, false)
}

/// The award as the department sees it, announced or not, with who filed each objection.
pub fn for_department(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
) -> Result<AnnouncementView, AppError> {
    let scenario = editable(conn, id, user)?;
    view(conn, scenario, true)
}

/// The award as the department sees it, over the aggregation its caller computed already
/// (the judging record's), or 404 before one is decided. The caller checked the right.
pub(crate) fn for_department_over(
    conn: &mut DbConnection,
    scenario: Scenario,
    finalists: Vec<judging::FinalistAggregate>,
) -> Result<AnnouncementView, AppError> {
    let award = views::find(conn, &scenario)?;
    view_of(conn, scenario, award, finalists, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_read_as_yuan() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(1_234_567), "12345.67");
        assert_eq!(yuan(-150), "-1.50");
    }
}
