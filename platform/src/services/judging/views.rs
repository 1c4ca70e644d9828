//! What judging looks like to each reader: the rubric, a judge's finalists, and the
//! department's panel, progress and aggregation.

use std::collections::BTreeMap;

use serde::Serialize;

use super::aggregate::{self, JudgedSummary};
use super::{Finalist, Record};
use crate::auth::CurrentUser;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::judging::{
    Criterion, CriterionKind, JudgeScore, Judging, Measure, ScoreSheet,
};
use crate::services::technical_reports::ReportLink;
use crate::time::iso_time;

#[derive(Debug, Serialize)]
pub struct RubricView {
    pub scenario_id: ScenarioId,
    pub blind: bool,
    pub criteria: Vec<Criterion>,
    pub updated_at: String,
}

impl RubricView {
    pub fn new(judging: &Judging, criteria: Vec<Criterion>) -> Self {
        Self {
            scenario_id: judging.scenario_id.clone(),
            blind: judging.blind,
            criteria,
            updated_at: iso_time(judging.updated_at),
        }
    }
}

/// Why a judge may not score a finalist. Serialised as its English sentence (the API's
/// `conflict` and `reason`); pages word it in the reader's language from its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The judge is a member of the team.
    Member {
        /// `None` when blind review hides it from the judge.
        team: Option<String>,
    },
    /// The judge declared an affiliation with the team's institution.
    Affiliation {
        /// As the judge declared it.
        institution: String,
        /// `None` when blind review hides it from the judge.
        team: Option<String>,
    },
}

impl Conflict {
    /// The conflict as a judge is told it: without the team's name while blind review
    /// hides names (the institution stays: it is the judge's own declaration).
    pub fn told(self, names_hidden: bool) -> Self {
        if !names_hidden {
            return self;
        }
        match self {
            Self::Member { .. } => Self::Member { team: None },
            Self::Affiliation { institution, .. } => Self::Affiliation {
                institution,
                team: None,
            },
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conflict of interest: ")?;
        match self {
            Self::Member { team: Some(team) } => write!(f, "you are a member of team `{team}`"),
            Self::Member { team: None } => f.write_str("you are a member of this finalist's team"),
            Self::Affiliation {
                institution,
                team: Some(team),
            } => write!(
                f,
                "you declared an affiliation with `{institution}`, the institution of team `{team}`"
            ),
            Self::Affiliation {
                institution,
                team: None,
            } => write!(
                f,
                "you declared an affiliation with `{institution}`, this finalist's institution"
            ),
        }
    }
}

impl Serialize for Conflict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A judge's submitted sheet for one finalist.
#[derive(Debug, Clone, Serialize)]
pub struct SheetView {
    pub judge_id: UserId,
    pub judge_login: String,
    pub judge_name: String,
    pub team_id: TeamId,
    pub scores: BTreeMap<String, i32>,
    pub comment: String,
    pub submitted_at: String,
}

impl SheetView {
    pub fn new(sheet: &ScoreSheet, scores: &[JudgeScore], login: &str, name: &str) -> Self {
        Self {
            judge_id: sheet.judge_id.clone(),
            judge_login: login.to_owned(),
            judge_name: name.to_owned(),
            team_id: sheet.team_id.clone(),
            scores: scores
                .iter()
                .filter(|s| s.judge_id == sheet.judge_id && s.team_id == sheet.team_id)
                .map(|s| (s.criterion.clone(), s.score))
                .collect(),
            comment: sheet.comment.clone(),
            submitted_at: iso_time(sheet.submitted_at),
        }
    }
}

/// A finalist as a panel judge sees it.
#[derive(Debug, Serialize)]
pub struct JudgeFinalistView {
    pub rank: usize,
    pub team_id: TeamId,
    /// `null` while blind review hides them.
    pub team_name: Option<String>,
    pub institution: Option<String>,
    pub submission_id: SubmissionId,
    pub score: f64,
    pub latency_ms: Option<f64>,
    pub device_seconds: Option<f64>,
    pub within_budget: bool,
    /// Another team submitted the same image (byte for byte).
    pub identical_image: bool,
    /// Those teams, unless blind review hides names.
    pub identical_image_teams: Option<Vec<String>>,
    /// The team's technical report (its latest in the final phase), if it attached one.
    pub technical_report: Option<ReportLink>,
    /// Why this judge may not score the finalist, if they may not.
    pub conflict: Option<Conflict>,
    pub my_sheet: Option<SheetView>,
    /// Other judges' sheets: `null` until this judge has submitted their own.
    pub others: Option<Vec<SheetView>>,
}

#[derive(Debug, Serialize)]
pub struct JudgeView {
    pub scenario_id: ScenarioId,
    pub blind: bool,
    pub names_hidden: bool,
    pub final_phase_closed: bool,
    pub rubric: Vec<Criterion>,
    pub declared: bool,
    /// When this judge last declared, if they have.
    pub declared_at: Option<String>,
    pub affiliations: Vec<String>,
    pub finalists: Vec<JudgeFinalistView>,
}

/// One scenario on a judge's list and where the judge stands with its finalists.
#[derive(Debug, Serialize)]
pub struct PanelSummary {
    pub scenario_id: ScenarioId,
    pub title_zh: String,
    pub title_en: String,
    pub declared: bool,
    pub final_phase_closed: bool,
    pub finalists: usize,
    /// Finalists this judge has sent a sheet for.
    pub scored: usize,
    /// Finalists a conflict of interest keeps this judge from scoring.
    pub blocked: usize,
}

impl PanelSummary {
    pub(super) fn of(record: &Record, view: &JudgeView) -> Self {
        Self {
            scenario_id: record.scenario.id.clone(),
            title_zh: record.scenario.title_zh.clone(),
            title_en: record.scenario.title_en.clone(),
            declared: view.declared,
            final_phase_closed: view.final_phase_closed,
            finalists: view.finalists.len(),
            scored: view
                .finalists
                .iter()
                .filter(|f| f.my_sheet.is_some())
                .count(),
            blocked: view
                .finalists
                .iter()
                .filter(|f| f.conflict.is_some())
                .count(),
        }
    }
}

/// One criterion's part of a finalist's total.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionResult {
    pub key: String,
    pub kind: CriterionKind,
    pub weight: i32,
    /// The measured value (score, milliseconds, device-seconds) for a measured criterion.
    pub measured: Option<f64>,
    /// The judges' scores combined, for a judged criterion (`null` before any score).
    pub judged: Option<JudgedSummary>,
    /// The finalist's share of the weight, `0..=1` (four decimals).
    pub share: f64,
    /// `weight × share` (two decimals).
    pub points: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FinalistAggregate {
    pub rank: usize,
    pub team_id: TeamId,
    pub team_name: String,
    pub institution: String,
    pub submission_id: SubmissionId,
    pub image_digest: String,
    /// Other teams that submitted the same image (byte for byte): flagged for the decision.
    pub identical_image_teams: Vec<String>,
    pub technical_report: Option<ReportLink>,
    pub criteria: Vec<CriterionResult>,
    /// The sum of the criteria's points before rounding, rounded to two decimals.
    pub total: f64,
    /// Sheets of judges on the panel counted in the total.
    pub sheets: usize,
}

#[derive(Debug, Serialize)]
pub struct PanelJudgeView {
    pub judge_id: UserId,
    pub login: String,
    pub display_name: String,
    pub assigned_at: String,
    pub declared_at: Option<String>,
    pub affiliations: Vec<String>,
}

jiebang_scenarios::text_enum! {
    /// Where one judge stands with one finalist.
    pub enum ProgressState: "progress state" {
        Scored = "scored",
        Pending = "pending",
        Conflict = "conflict",
    }
}

#[derive(Debug, Serialize)]
pub struct ProgressView {
    pub judge_id: UserId,
    pub judge_login: String,
    pub team_id: TeamId,
    pub team_name: String,
    pub state: ProgressState,
    pub reason: Option<Conflict>,
}

#[derive(Debug, Serialize)]
pub struct JudgingView {
    pub scenario_id: ScenarioId,
    pub rubric_set: bool,
    pub blind: bool,
    pub final_phase_closed: bool,
    pub panel_finished: bool,
    pub rubric: Vec<Criterion>,
    pub panel: Vec<PanelJudgeView>,
    pub progress: Vec<ProgressView>,
    /// Best total first.
    pub finalists: Vec<FinalistAggregate>,
    pub sheets: Vec<SheetView>,
}

fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// Every finalist's total, best first (board rank breaks ties).
pub(super) fn aggregates(record: &Record) -> Vec<FinalistAggregate> {
    let higher_is_better =
        record.scenario.metric.direction() == jiebang_scenarios::package::Direction::Higher;
    let counted: Vec<&JudgeScore> = record
        .scores
        .iter()
        .filter(|s| record.on_panel(&s.judge_id))
        .collect();
    let per_criterion: Vec<Vec<CriterionResult>> = record
        .criteria
        .iter()
        .map(|criterion| match (criterion.kind, criterion.measure) {
            (CriterionKind::Measured, Some(measure)) => {
                let values: Vec<Option<f64>> = record
                    .finalists
                    .iter()
                    .map(|f| f.measured(measure))
                    .collect();
                let higher = measure == Measure::Score && higher_is_better;
                aggregate::normalise(&values, higher)
                    .into_iter()
                    .zip(values)
                    .map(|(share, value)| result(criterion, value, None, share))
                    .collect()
            }
            _ => record
                .finalists
                .iter()
                .map(|finalist| {
                    let scores: Vec<i32> = counted
                        .iter()
                        .filter(|s| {
                            s.team_id == finalist.team_id && s.criterion == criterion.criterion
                        })
                        .map(|s| s.score)
                        .collect();
                    let summary = aggregate::combine(&scores);
                    let share = summary.as_ref().map_or(0.0, |s| s.value / 10.0);
                    result(criterion, None, summary, share)
                })
                .collect(),
        })
        .collect();
    let mut finalists: Vec<FinalistAggregate> = record
        .finalists
        .iter()
        .enumerate()
        .map(|(index, finalist)| {
            let criteria: Vec<CriterionResult> = per_criterion
                .iter()
                .filter_map(|results| results.get(index).cloned())
                .collect();
            let total: f64 = criteria
                .iter()
                .map(|c| aggregate::points(c.weight, c.share))
                .sum();
            let criteria = criteria
                .into_iter()
                .map(|c| CriterionResult {
                    share: round4(c.share),
                    points: aggregate::round2(aggregate::points(c.weight, c.share)),
                    ..c
                })
                .collect();
            FinalistAggregate {
                rank: finalist.rank,
                team_id: finalist.team_id.clone(),
                team_name: finalist.team_name.clone(),
                institution: finalist.institution.clone(),
                submission_id: finalist.submission_id.clone(),
                image_digest: finalist.image_digest.clone(),
                identical_image_teams: record.same_image_as(&finalist.team_id),
                technical_report: record.report_of(&finalist.team_id),
                criteria,
                total: aggregate::round2(total),
                sheets: record
                    .sheets
                    .iter()
                    .filter(|s| s.team_id == finalist.team_id && record.on_panel(&s.judge_id))
                    .count(),
            }
        })
        .collect();
    finalists.sort_by(|a, b| b.total.total_cmp(&a.total).then(a.rank.cmp(&b.rank)));
    finalists
}

fn result(
    criterion: &Criterion,
    measured: Option<f64>,
    judged: Option<JudgedSummary>,
    share: f64,
) -> CriterionResult {
    CriterionResult {
        key: criterion.criterion.clone(),
        kind: criterion.kind,
        weight: criterion.weight,
        measured,
        judged,
        share,
        points: 0.0,
    }
}

fn sheet_view(record: &Record, sheet: &ScoreSheet) -> SheetView {
    let (login, name) = record
        .panel
        .iter()
        .find(|row| row.member.judge_id == sheet.judge_id)
        .map_or(("", ""), |row| {
            (row.login.as_str(), row.display_name.as_str())
        });
    SheetView::new(sheet, &record.scores, login, name)
}

pub(super) fn judge_view(record: &Record, judge: &CurrentUser) -> JudgeView {
    let hidden = record.names_hidden();
    let finalists = record
        .finalists
        .iter()
        .map(|finalist: &Finalist| {
            let mine = record.sheet(&judge.id, &finalist.team_id);
            let others = mine.map(|_| {
                record
                    .sheets
                    .iter()
                    .filter(|s| {
                        s.team_id == finalist.team_id
                            && s.judge_id != judge.id
                            && record.on_panel(&s.judge_id)
                    })
                    .map(|s| sheet_view(record, s))
                    .collect()
            });
            JudgeFinalistView {
                rank: finalist.rank,
                team_id: finalist.team_id.clone(),
                team_name: (!hidden).then(|| finalist.team_name.clone()),
                institution: (!hidden).then(|| finalist.institution.clone()),
                submission_id: finalist.submission_id.clone(),
                score: finalist.score,
                latency_ms: finalist.latency_ms,
                device_seconds: finalist.device_seconds,
                within_budget: finalist.within_budget,
                identical_image: !record.same_image_as(&finalist.team_id).is_empty(),
                identical_image_teams: (!hidden).then(|| record.same_image_as(&finalist.team_id)),
                technical_report: record.report_of(&finalist.team_id),
                conflict: record.conflict(&judge.id, finalist).map(|c| c.told(hidden)),
                my_sheet: mine.map(|s| sheet_view(record, s)),
                others,
            }
        })
        .collect();
    let member = record
        .panel
        .iter()
        .find(|row| row.member.judge_id == judge.id);
    JudgeView {
        scenario_id: record.scenario.id.clone(),
        blind: record.judging.as_ref().is_some_and(|j| j.blind),
        names_hidden: hidden,
        final_phase_closed: record.closed,
        rubric: record.criteria.clone(),
        declared: member.is_some_and(|row| row.member.declared_at.is_some()),
        declared_at: member.and_then(|row| row.member.declared_at.map(iso_time)),
        affiliations: affiliations_of(record, &judge.id),
        finalists,
    }
}

fn affiliations_of(record: &Record, judge: &UserId) -> Vec<String> {
    record
        .affiliations
        .iter()
        .filter(|a| &a.judge_id == judge)
        .map(|a| a.institution.clone())
        .collect()
}

pub(super) fn judging_view(record: &Record) -> JudgingView {
    let panel = record
        .panel
        .iter()
        .map(|row| PanelJudgeView {
            judge_id: row.member.judge_id.clone(),
            login: row.login.clone(),
            display_name: row.display_name.clone(),
            assigned_at: iso_time(row.member.assigned_at),
            declared_at: row.member.declared_at.map(iso_time),
            affiliations: affiliations_of(record, &row.member.judge_id),
        })
        .collect();
    let mut progress = Vec::new();
    for row in &record.panel {
        for finalist in &record.finalists {
            let judge = &row.member.judge_id;
            let conflict = record.conflict(judge, finalist);
            let state = if conflict.is_some() {
                ProgressState::Conflict
            } else if record.sheet(judge, &finalist.team_id).is_some() {
                ProgressState::Scored
            } else {
                ProgressState::Pending
            };
            progress.push(ProgressView {
                judge_id: judge.clone(),
                judge_login: row.login.clone(),
                team_id: finalist.team_id.clone(),
                team_name: finalist.team_name.clone(),
                state,
                reason: conflict,
            });
        }
    }
    JudgingView {
        scenario_id: record.scenario.id.clone(),
        rubric_set: record.judging.is_some(),
        blind: record.judging.as_ref().is_some_and(|j| j.blind),
        final_phase_closed: record.closed,
        panel_finished: record.panel_finished(),
        rubric: record.criteria.clone(),
        panel,
        progress,
        finalists: aggregates(record),
        sheets: record
            .sheets
            .iter()
            .filter(|s| record.on_panel(&s.judge_id))
            .map(|s| sheet_view(record, s))
            .collect(),
    }
}
