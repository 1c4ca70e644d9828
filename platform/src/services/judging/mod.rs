//! Judging: the department's rubric and panel, judges' declarations and conflict-of-interest
//! blocks, score sheets per finalist, and the aggregation the department decides on.

pub mod aggregate;
pub mod export;
mod record;
mod views;

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::board_entries::{self, Board, BoardKey};
use crate::db::models::judging::{
    self, Criterion, CriterionKind, JudgeScore, Judging, Measure, PanelMember, ScoreSheet,
};
use crate::db::models::notifications::{self, Notice, NotificationKind};
use crate::db::models::phases::{self, Phase};
use crate::db::models::scenarios::Scenario;
use crate::db::models::users::{self, Role};
use crate::db::models::{Page, audit, package_versions};
use crate::db::now_millis;
use crate::db::schema::{submissions as submissions_table, teams as teams_table};
use crate::error::AppError;
use crate::services::boards::over_budget_of;
use crate::services::scenarios::{editable, visible};
use crate::time::iso_time;
use crate::validate::{Checks, FieldProblem};

use record::Record;
pub use views::{
    Conflict, FinalistAggregate, JudgeFinalistView, JudgeView, JudgingView, PanelJudgeView,
    PanelSummary, ProgressState, ProgressView, RubricView, SheetView,
};

/// The most criteria a rubric may have.
pub const MAX_CRITERIA: usize = 20;
/// The longest comment on a score sheet, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// The most affiliations one declaration may list.
pub const MAX_AFFILIATIONS: usize = 20;

/// The body of `PUT …/rubric`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricForm {
    #[serde(default)]
    pub blind: bool,
    pub criteria: Vec<CriterionForm>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionForm {
    pub key: String,
    pub label: String,
    pub kind: CriterionKind,
    #[serde(default)]
    pub measure: Option<Measure>,
    pub weight: i64,
    #[serde(default)]
    pub guidance: String,
}

/// The body of `PUT …/declaration`: every institution or organisation the judge has ties
/// with (employer, school, recent collaborators' employers); empty declares none.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationForm {
    pub institutions: Vec<String>,
}

/// The body of `PUT …/finalists/{team}/scores`: a 1–10 score for every judged criterion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetForm {
    pub scores: BTreeMap<String, i64>,
    #[serde(default)]
    pub comment: String,
}

/// A ranked team of the final phase's private board, with what the rubric measures.
#[derive(Debug, Clone)]
pub struct Finalist {
    pub rank: usize,
    pub team_id: TeamId,
    pub team_name: String,
    pub institution: String,
    pub submission_id: SubmissionId,
    pub image_digest: String,
    pub score: f64,
    pub latency_ms: Option<f64>,
    pub device_seconds: Option<f64>,
    pub within_budget: bool,
}

impl Finalist {
    fn measured(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::Score => Some(self.score),
            Measure::Latency => self.latency_ms,
            // A run that held no accelerator used none.
            Measure::DeviceSeconds => Some(self.device_seconds.unwrap_or(0.0)),
        }
    }
}

/// The phase whose private board names the finalists: the one that closes last.
pub fn final_phase(conn: &mut DbConnection, scenario: &Scenario) -> Result<Phase, AppError> {
    phases::phases_of(conn, &scenario.id)?
        .into_iter()
        .max_by_key(|p| p.closes_at)
        .ok_or_else(|| {
            AppError::conflict(
                "no_phase",
                format!("scenario `{}` has no phase to judge", scenario.id),
            )
            .with("scenario", &scenario.id)
        })
}

/// Each team's ranked entry on the final phase's private board, best first.
pub fn finalists(conn: &mut DbConnection, scenario: &Scenario) -> Result<Vec<Finalist>, AppError> {
    let phase = final_phase(conn, scenario)?;
    let version = package_versions::in_force_at(
        conn,
        &scenario.id,
        phase.closes_at,
        now_millis(),
        scenario.package_version,
    )?;
    let key = BoardKey {
        scenario_id: scenario.id.clone(),
        phase_id: phase.id.clone(),
        board: Board::Private,
        direction: scenario.metric.direction(),
        package_version: version,
    };
    let everyone = Page {
        number: 1,
        size: u32::MAX,
    };
    let (lines, _) = board_entries::ranked_page(conn, &key, over_budget_of(scenario)?, everyone)?;
    // Two look-ups for the whole board rather than two per finalist.
    let team_ids: Vec<&TeamId> = lines.iter().map(|line| &line.entry.team_id).collect();
    let submission_ids: Vec<&SubmissionId> =
        lines.iter().map(|line| &line.entry.submission_id).collect();
    let institutions: HashMap<TeamId, String> = teams_table::table
        .filter(teams_table::id.eq_any(team_ids))
        .select((teams_table::id, teams_table::institution))
        .load(conn)?
        .into_iter()
        .collect();
    let images: HashMap<SubmissionId, String> = submissions_table::table
        .filter(submissions_table::id.eq_any(submission_ids))
        .select((submissions_table::id, submissions_table::image_digest))
        .load(conn)?
        .into_iter()
        .collect();
    let mut finalists = Vec::with_capacity(lines.len());
    for line in lines {
        let team_id = line.entry.team_id;
        let institution = institutions.get(&team_id).cloned().unwrap_or_default();
        let image_digest = images
            .get(&line.entry.submission_id)
            .cloned()
            .unwrap_or_default();
        finalists.push(Finalist {
            rank: line.rank,
            team_id,
            team_name: line.team_name,
            institution,
            submission_id: line.entry.submission_id,
            image_digest,
            score: line.entry.score,
            latency_ms: line.result.latency_ms,
            device_seconds: line.result.device_seconds,
            within_budget: !line.entry.over_budget,
        });
    }
    Ok(finalists)
}

/// The rubric, to anyone who sees the scenario: teams know how they will be judged.
pub fn rubric_of(
    conn: &mut DbConnection,
    id: &ScenarioId,
    viewer: &crate::db::models::scenarios::Visibility,
) -> Result<RubricView, AppError> {
    let scenario = visible(conn, id, viewer)?;
    let judging = judging::find_judging(conn, &scenario.id)?
        .ok_or_else(|| AppError::missing("rubric", id))?;
    let criteria = judging::criteria_of(conn, &scenario.id)?;
    Ok(RubricView::new(&judging, criteria))
}

/// Sets the rubric (replacing an earlier one) while the final phase is still open: the
/// rules of judging are known before the final board is.
pub fn set_rubric(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    form: &RubricForm,
) -> Result<RubricView, AppError> {
    let scenario = editable(conn, id, user)?;
    let criteria = checked_criteria(&scenario.id, form)?;
    let phase = final_phase(conn, &scenario)?;
    if now_millis() >= phase.closes_at {
        return Err(AppError::conflict(
            "rubric_locked",
            format!(
                "the rubric is set before the final phase closes; it closed at {}",
                iso_time(phase.closes_at)
            ),
        )
        .with("closes_at", iso_time(phase.closes_at)));
    }
    let judging = Judging {
        scenario_id: scenario.id.clone(),
        blind: form.blind,
        updated_by: Some(user.id.clone()),
        updated_at: now_millis(),
    };
    judging::replace_rubric(conn, &judging, &criteria)?;
    audit::record(
        conn,
        Some(&user.id),
        "judging.rubric_set",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({
            "blind": judging.blind,
            "criteria": criteria.iter().map(|c| serde_json::json!({
                "key": c.criterion, "kind": c.kind, "measure": c.measure, "weight": c.weight,
            })).collect::<Vec<_>>(),
        }),
    )?;
    Ok(RubricView::new(&judging, criteria))
}

/// The rubric's criteria, or every problem of them at once (the first of each field), so
/// the editor shows each beside its field.
pub fn checked_criteria(
    scenario: &ScenarioId,
    form: &RubricForm,
) -> Result<Vec<Criterion>, AppError> {
    let mut checks = Checks::default();
    if form.criteria.is_empty() || form.criteria.len() > MAX_CRITERIA {
        checks.push(
            FieldProblem::new(
                "criteria",
                "count_range",
                format!("must list 1 to {MAX_CRITERIA} criteria"),
            )
            .with("min", 1)
            .with("max", MAX_CRITERIA),
        );
    }
    let mut keys = HashSet::new();
    let mut measures = HashSet::new();
    let mut total: i64 = 0;
    let mut criteria = Vec::with_capacity(form.criteria.len());
    for (index, c) in form.criteria.iter().enumerate() {
        let field = |name: &str| format!("criteria[{index}].{name}");
        checks.check(crate::validate::slug(&field("key"), &c.key));
        if !keys.insert(c.key.as_str()) {
            checks.push(
                FieldProblem::new(
                    &field("key"),
                    "used_twice",
                    format!("`{}` is used twice", c.key),
                )
                .with("value", &c.key),
            );
        }
        checks.check(crate::validate::text(&field("label"), &c.label, 100));
        checks.check(crate::validate::within(&field("weight"), c.weight, 1, 100));
        total = total.saturating_add(c.weight);
        match (c.kind, c.measure) {
            (CriterionKind::Measured, None) => checks.push(FieldProblem::new(
                &field("measure"),
                "measure_required",
                "a measured criterion names what it measures: score, latency or device_seconds",
            )),
            (CriterionKind::Measured, Some(measure)) => {
                if !measures.insert(measure) {
                    checks.push(
                        FieldProblem::new(
                            &field("measure"),
                            "measured_twice",
                            format!("`{measure}` is measured by another criterion already"),
                        )
                        .with("measure", measure),
                    );
                }
            }
            (CriterionKind::Judged, Some(_)) => checks.push(FieldProblem::new(
                &field("measure"),
                "judged_measures_nothing",
                "a judged criterion is scored by the judges and measures nothing",
            )),
            (CriterionKind::Judged, None) => {
                if crate::validate::text(&field("guidance"), &c.guidance, 2000).is_err() {
                    checks.push(FieldProblem::new(
                        &field("guidance"),
                        "guidance_required",
                        "a judged criterion tells the judges what a 1 and a 10 mean \
                         (1–2000 characters, no control characters)",
                    ));
                }
            }
        }
        criteria.push(Criterion {
            scenario_id: scenario.clone(),
            criterion: c.key.clone(),
            position: i32::try_from(index).unwrap_or(i32::MAX),
            label: c.label.clone(),
            kind: c.kind,
            measure: c.measure,
            // Bounded to 1–100 above (the rubric is refused otherwise).
            weight: i32::try_from(c.weight).unwrap_or(0),
            guidance: c.guidance.clone(),
        });
    }
    // A sum made of wrong weights says nothing more; it is named once they are right.
    let weights_fine = form.criteria.iter().all(|c| (1..=100).contains(&c.weight));
    if weights_fine && total != 100 {
        checks.push(
            FieldProblem::new(
                "criteria",
                "weights_sum",
                format!("the weights must sum to 100, not {total}"),
            )
            .with("total", total),
        );
    }
    checks.finish()?;
    Ok(criteria)
}

/// Puts a judge on the scenario's panel (the department or an admin); true when new.
pub fn assign_judge(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    judge: &UserId,
) -> Result<bool, AppError> {
    let scenario = editable(conn, id, user)?;
    let Some(found) = users::find(conn, judge)? else {
        return Err(AppError::missing("user", judge));
    };
    if !users::roles_of(conn, judge)?.contains(&Role::Judge) {
        return Err(FieldProblem::new(
            "judge",
            "not_judge",
            format!("user `{judge}` is not a judge; an admin grants the judge role first"),
        )
        .with("login", found.login)
        .into());
    }
    let added = judging::assign(
        conn,
        &PanelMember {
            scenario_id: scenario.id.clone(),
            judge_id: judge.clone(),
            assigned_by: Some(user.id.clone()),
            assigned_at: now_millis(),
            declared_at: None,
        },
    )?;
    if added {
        audit::record(
            conn,
            Some(&user.id),
            "judging.panel_assign",
            "scenario",
            scenario.id.as_str(),
            serde_json::json!({ "judge_id": judge }),
        )?;
        notifications::notify(
            conn,
            std::slice::from_ref(judge),
            &Notice::about_scenario(
                NotificationKind::PanelAssigned,
                &scenario,
                format!("/console/judging/{}", scenario.id),
            ),
        )?;
    }
    Ok(added)
}

/// Takes a judge off the panel (the department or an admin).
pub fn remove_judge(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    judge: &UserId,
) -> Result<(), AppError> {
    let scenario = editable(conn, id, user)?;
    if !judging::unassign(conn, &scenario.id, judge)? {
        return Err(AppError::missing("panel_judge", judge).with("scenario", id));
    }
    audit::record(
        conn,
        Some(&user.id),
        "judging.panel_remove",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({ "judge_id": judge }),
    )?;
    Ok(())
}

/// The panel member, or 403 for a judge the department has not assigned.
fn panel_member(
    conn: &mut DbConnection,
    judge: &CurrentUser,
    scenario: &ScenarioId,
) -> Result<PanelMember, AppError> {
    judging::membership(conn, scenario, &judge.id)?.ok_or_else(|| {
        AppError::forbidden(
            "not_on_panel",
            format!(
                "you are not on the panel of scenario `{scenario}`; its department assigns the judges"
            ),
        )
        .with("scenario", scenario)
    })
}

/// A panel judge declares their affiliations for the scenario (replacing an earlier
/// declaration); every declaration is recorded.
pub fn declare(
    conn: &mut DbConnection,
    judge: &CurrentUser,
    id: &ScenarioId,
    form: &DeclarationForm,
) -> Result<Vec<String>, AppError> {
    let scenario = visible(conn, id, &judge.visibility())?;
    panel_member(conn, judge, &scenario.id)?;
    if form.institutions.len() > MAX_AFFILIATIONS {
        return Err(FieldProblem::new(
            "institutions",
            "too_many",
            format!("must list at most {MAX_AFFILIATIONS}"),
        )
        .with("max", MAX_AFFILIATIONS)
        .into());
    }
    let mut seen = HashSet::new();
    let mut institutions = Vec::new();
    for (index, name) in form.institutions.iter().enumerate() {
        crate::validate::text(&format!("institutions[{index}]"), name, 200)?;
        if seen.insert(normalised(name)) {
            institutions.push(name.trim().to_owned());
        }
    }
    judging::declare(conn, &scenario.id, &judge.id, &institutions, now_millis())?;
    audit::record(
        conn,
        Some(&judge.id),
        "judging.declare",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({ "institutions": institutions }),
    )?;
    Ok(institutions)
}

/// Institution names compare without case and with runs of spaces as one.
fn normalised(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The outcome of a judge's attempt to score a finalist; a block is recorded in the audit
/// log, so it is an outcome the transaction keeps, and the handler answers 403.
pub enum SheetOutcome {
    Saved {
        sheet: SheetView,
        created: bool,
    },
    /// The conflict as the judge is told it (blind review hides the team's name).
    Blocked(Conflict),
}

/// A panel judge's sheet for one finalist: one 1–10 score per judged criterion.
pub fn submit_sheet(
    conn: &mut DbConnection,
    judge: &CurrentUser,
    id: &ScenarioId,
    team: &TeamId,
    form: &SheetForm,
) -> Result<SheetOutcome, AppError> {
    let scenario = visible(conn, id, &judge.visibility())?;
    let member = panel_member(conn, judge, &scenario.id)?;
    if member.declared_at.is_none() {
        return Err(AppError::conflict(
            "declaration_missing",
            "declare your affiliations for this scenario before scoring (an empty list \
             declares none)",
        ));
    }
    let record = Record::load(conn, scenario)?;
    if record.judging.is_none() {
        return Err(AppError::conflict(
            "no_rubric",
            "the department has not set the rubric yet",
        ));
    }
    if !record.closed {
        return Err(AppError::conflict(
            "phase_open",
            "finalists are scored once the final phase has closed",
        ));
    }
    let finalist = record
        .finalists
        .iter()
        .find(|f| &f.team_id == team)
        .ok_or_else(|| AppError::missing("finalist", team).with("scenario", id))?;
    if let Some(conflict) = record.conflict(&judge.id, finalist) {
        // The log names the team: it is read by the department, not by the judge.
        audit::record(
            conn,
            Some(&judge.id),
            "judging.conflict_blocked",
            "scenario",
            record.scenario.id.as_str(),
            serde_json::json!({ "team_id": team, "reason": conflict.to_string() }),
        )?;
        return Ok(SheetOutcome::Blocked(conflict.told(record.names_hidden())));
    }
    let scores = checked_scores(&record, &judge.id, team, form)?;
    let sheet = ScoreSheet {
        scenario_id: record.scenario.id.clone(),
        judge_id: judge.id.clone(),
        team_id: team.clone(),
        comment: form.comment.clone(),
        submitted_at: now_millis(),
    };
    let created = judging::put_sheet(conn, &sheet, &scores)?;
    audit::record(
        conn,
        Some(&judge.id),
        if created {
            "judging.score"
        } else {
            "judging.rescore"
        },
        "scenario",
        record.scenario.id.as_str(),
        serde_json::json!({
            "team_id": team,
            "scores": form.scores,
            "comment_chars": form.comment.chars().count(),
        }),
    )?;
    Ok(SheetOutcome::Saved {
        sheet: SheetView::new(&sheet, &scores, &judge.login, &judge.display_name),
        created,
    })
}

fn checked_scores(
    record: &Record,
    judge: &UserId,
    team: &TeamId,
    form: &SheetForm,
) -> Result<Vec<JudgeScore>, AppError> {
    let judged: Vec<&Criterion> = record.judged().collect();
    if judged.is_empty() {
        return Err(AppError::conflict(
            "nothing_to_judge",
            "the rubric has no judged criterion; the measured ones need no scores",
        ));
    }
    // Every criterion and the comment are checked, so the judge fixes the sheet in one go.
    let mut checks = Checks::default();
    checks.check(crate::validate::prose(
        "comment",
        &form.comment,
        MAX_COMMENT_CHARS,
    ));
    for unknown in form
        .scores
        .keys()
        .filter(|key| !judged.iter().any(|c| &c.criterion == *key))
    {
        checks.push(FieldProblem::new(
            &format!("scores.{unknown}"),
            "not_criterion",
            "is not a judged criterion of the rubric",
        ));
    }
    let mut scores = Vec::with_capacity(judged.len());
    for criterion in judged {
        let field = format!("scores.{}", criterion.criterion);
        let Some(&score) = form.scores.get(&criterion.criterion) else {
            checks.push(FieldProblem::new(
                &field,
                "score_missing",
                "is missing: score every judged criterion",
            ));
            continue;
        };
        if !(1..=10).contains(&score) {
            checks.push(
                FieldProblem::new(
                    &field,
                    "out_of_range",
                    format!("must be a whole number from 1 to 10, not {score}"),
                )
                .with("min", 1)
                .with("max", 10),
            );
            continue;
        }
        scores.push(JudgeScore {
            scenario_id: record.scenario.id.clone(),
            judge_id: judge.clone(),
            team_id: team.clone(),
            criterion: criterion.criterion.clone(),
            // Bounded to 1–10 above.
            score: i32::try_from(score).unwrap_or(1),
        });
    }
    checks.finish()?;
    Ok(scores)
}

/// What a panel judge sees: the rubric, their declaration, and every finalist with their
/// own sheet; other judges' sheets for a finalist only once they submitted their own.
pub fn judge_view(
    conn: &mut DbConnection,
    judge: &CurrentUser,
    id: &ScenarioId,
) -> Result<JudgeView, AppError> {
    let scenario = visible(conn, id, &judge.visibility())?;
    panel_member(conn, judge, &scenario.id)?;
    let record = Record::load(conn, scenario)?;
    Ok(views::judge_view(&record, judge))
}

/// The scenarios whose panel the judge is on, with their progress on each.
pub fn panels_of(
    conn: &mut DbConnection,
    judge: &CurrentUser,
) -> Result<Vec<PanelSummary>, AppError> {
    let mut panels = Vec::new();
    for member in judging::panels_of_judge(conn, &judge.id)? {
        let Some(scenario) = crate::db::models::scenarios::find(conn, &member.scenario_id)?
            .filter(|s| judge.visibility().can_see(s))
        else {
            continue;
        };
        let record = match Record::load(conn, scenario) {
            Ok(record) => record,
            // A scenario without a phase has nothing to judge yet.
            Err(AppError::Conflict { .. }) => continue,
            Err(other) => return Err(other),
        };
        let view = views::judge_view(&record, judge);
        panels.push(PanelSummary::of(&record, &view));
    }
    Ok(panels)
}

/// What the department (or an admin) sees: panel, declarations, progress, aggregation.
pub fn judging_view(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
) -> Result<JudgingView, AppError> {
    let scenario = editable(conn, id, user)?;
    let record = Record::load(conn, scenario)?;
    Ok(views::judging_view(&record))
}

/// The aggregation alone, per finalist, best total first (the award builds on it).
pub fn aggregate_of(
    conn: &mut DbConnection,
    scenario: Scenario,
) -> Result<Vec<FinalistAggregate>, AppError> {
    let record = Record::load(conn, scenario)?;
    Ok(views::aggregates(&record))
}

/// The whole judging record (the department or an admin): the scenario, the judging view
/// and, once there is one, the award.
pub fn record(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
) -> Result<
    (
        Scenario,
        JudgingView,
        Option<crate::services::awards::AnnouncementView>,
    ),
    AppError,
> {
    let scenario = editable(conn, id, user)?;
    // One load of the record serves both: the award is read over the same aggregation.
    let record = Record::load(conn, scenario)?;
    let view = views::judging_view(&record);
    let scenario = record.scenario;
    let award = match crate::services::awards::for_department_over(
        conn,
        scenario.clone(),
        view.finalists.clone(),
    ) {
        Ok(award) => Some(award),
        Err(AppError::NotFound { .. }) => None,
        Err(other) => return Err(other),
    };
    Ok((scenario, view, award))
}

/// The judging record as CSV (the department or an admin), the award's part included once
/// there is an award.
pub fn record_csv(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
) -> Result<String, AppError> {
    let (_, view, award) = record(conn, user, id)?;
    Ok(export::csv(&view, award.as_ref()))
}
