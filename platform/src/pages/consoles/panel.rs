//! The judge's side of judging as pages: the panels a judge sits on, a panel's finalists
//! with the declaration form, and the scoring page beside the finalist's report and PDF.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::session::CsrfForm;
use crate::auth::{CurrentUser, Judge};
use crate::db::ids::{ScenarioId, TeamId};
use crate::db::models::judging::CriterionKind;
use crate::error::AppError;
use crate::pages::scenarios::{pick, when};
use crate::pages::{PageContext, see_other};
use crate::services::judging::{
    self, Conflict, DeclarationForm, JudgeFinalistView, JudgeView, SheetForm, SheetOutcome,
};
use crate::services::scenarios::visible;

use super::{Choice, EditQuery, FormProblems, fixable, form_problems, refused};
use crate::validate::{Checks, FieldProblem};

/// A panel on the judge console's list.
#[derive(Serialize)]
pub(super) struct PanelRow {
    title: String,
    url: String,
    progress: String,
    declared: bool,
    closed: bool,
}

/// The panels `judge` sits on, for `/console/judge`.
pub(super) async fn panel_rows(
    page: &PageContext,
    judge: CurrentUser,
) -> Result<Vec<PanelRow>, AppError> {
    let panels = page
        .state
        .db
        .read(move |conn| judging::panels_of(conn, &judge))
        .await?;
    Ok(panels
        .into_iter()
        .map(|p| PanelRow {
            title: pick(page.lang, &p.title_zh, &p.title_en),
            url: format!("/console/judging/{}", p.scenario_id),
            progress: page
                .text("judging.progress_of")
                .replace("{scored}", &p.scored.to_string())
                .replace("{total}", &(p.finalists - p.blocked).to_string()),
            declared: p.declared,
            closed: p.final_phase_closed,
        })
        .collect())
}

/// Why a judge may not score a finalist, in the page's language.
pub(super) fn conflict_text(page: &PageContext, conflict: &Conflict) -> String {
    let (key, institution, team) = match conflict {
        Conflict::Member { team } => ("member", "", team.as_deref()),
        Conflict::Affiliation { institution, team } => {
            ("affiliation", institution.as_str(), team.as_deref())
        }
    };
    match team {
        Some(team) => page
            .text(&format!("judging.conflict_{key}"))
            .replace("{team}", team),
        None => page.text(&format!("judging.conflict_{key}_hidden")),
    }
    .replace("{institution}", institution)
}

fn fixed(value: Option<f64>, digits: usize, unit: &str) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}{unit}"))
}

/// A finalist as the judge's pages show it.
#[derive(Serialize)]
struct FinalistCard {
    rank: usize,
    team_id: String,
    name: String,
    institution: Option<String>,
    score: String,
    latency: String,
    device_seconds: String,
    within_budget: bool,
    report_url: Option<String>,
    state: &'static str,
    conflict: Option<String>,
    identical_image: bool,
    identical_teams: Option<String>,
    score_url: String,
}

fn card(page: &PageContext, scenario: &ScenarioId, f: &JudgeFinalistView) -> FinalistCard {
    FinalistCard {
        rank: f.rank,
        team_id: f.team_id.0.clone(),
        name: f.team_name.clone().unwrap_or_else(|| {
            page.text("judging.finalist_n")
                .replace("{rank}", &f.rank.to_string())
        }),
        institution: f.institution.clone(),
        score: format!("{:.4}", f.score),
        latency: fixed(f.latency_ms, 2, " ms"),
        device_seconds: fixed(f.device_seconds, 1, " s"),
        within_budget: f.within_budget,
        report_url: f.technical_report.as_ref().map(|r| r.url.clone()),
        state: if f.conflict.is_some() {
            "blocked"
        } else if f.my_sheet.is_some() {
            "scored"
        } else {
            "pending"
        },
        conflict: f.conflict.as_ref().map(|c| conflict_text(page, c)),
        identical_image: f.identical_image,
        identical_teams: f.identical_image_teams.as_ref().map(|t| t.join("、")),
        score_url: format!("/console/judging/{scenario}/finalists/{}", f.team_id),
    }
}

#[derive(Serialize)]
struct CriterionRow {
    key: String,
    label: String,
    weight: i32,
    judged: bool,
    kind: String,
    guidance: String,
}

fn rubric_rows(page: &PageContext, view: &JudgeView) -> Vec<CriterionRow> {
    view.rubric
        .iter()
        .map(|c| CriterionRow {
            key: c.criterion.clone(),
            label: c.label.clone(),
            weight: c.weight,
            judged: c.kind == CriterionKind::Judged,
            kind: match c.measure {
                Some(measure) => page.code("measure", measure.as_str()),
                None => page.code("criterion_kind", c.kind.as_str()),
            },
            guidance: c.guidance.clone(),
        })
        .collect()
}

/// The judge's view of the panel and the scenario's title.
async fn load(
    page: &PageContext,
    judge: &CurrentUser,
    id: &ScenarioId,
) -> Result<(JudgeView, String), AppError> {
    let (judge, id) = (judge.clone(), id.clone());
    let (view, zh, en) = page
        .state
        .db
        .read(move |conn| {
            let scenario = visible(conn, &id, &judge.visibility())?;
            let view = judging::judge_view(conn, &judge, &id)?;
            Ok((view, scenario.title_zh, scenario.title_en))
        })
        .await?;
    Ok((view, pick(page.lang, &zh, &en)))
}

#[derive(Serialize)]
struct PanelPage {
    scenario_id: String,
    title: String,
    names_hidden: bool,
    closed: bool,
    declared: bool,
    /// When the judge declared, in Beijing time, and what (as stored, not as typed).
    declared_at: Option<String>,
    declared_list: String,
    affiliations: String,
    rubric: Vec<CriterionRow>,
    finalists: Vec<FinalistCard>,
    saved: bool,
    problem: Option<String>,
}

async fn panel_view(
    page: &PageContext,
    judge: &CurrentUser,
    id: &ScenarioId,
    saved: bool,
    problem: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (view, title) = load(page, judge, id).await?;
    let (affiliations, problem) = match problem {
        Some((sent, problem)) => (sent, Some(problem)),
        None => (view.affiliations.join("\n"), None),
    };
    let data = PanelPage {
        scenario_id: id.0.clone(),
        names_hidden: view.names_hidden,
        closed: view.final_phase_closed,
        declared: view.declared,
        declared_at: view.declared_at.as_deref().map(when),
        declared_list: view.affiliations.join("、"),
        affiliations,
        rubric: rubric_rows(page, &view),
        finalists: view.finalists.iter().map(|f| card(page, id, f)).collect(),
        saved,
        problem,
        title: title.clone(),
    };
    let heading = page.text("judging.panel_title").replace("{title}", &title);
    page.render("console/panel", &heading, data).await
}

/// `GET /console/judging/{id}` — a panel judge's finalists, rubric and declaration.
pub async fn panel(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<ScenarioId>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    panel_view(
        &page,
        &judge,
        &path.into_inner(),
        query.saved.is_some(),
        None,
    )
    .await
}

#[derive(Debug, serde::Deserialize)]
pub struct DeclarationFields {
    #[serde(default)]
    pub institutions: String,
}

/// `POST /console/judging/{id}/declaration` — one institution per line; none declares none.
pub async fn declare(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<DeclarationFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = DeclarationForm {
        institutions: fields
            .institutions
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let outcome = {
        let (judge, id) = (judge.clone(), id.clone());
        page.state
            .db
            .write(move |conn| judging::declare(conn, &judge, &id, &form))
            .await
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/console/judging/{id}?saved=1"))),
        Err(error) => {
            let problem = fixable(&page, error)?;
            Ok(refused(
                panel_view(
                    &page,
                    &judge,
                    &id,
                    false,
                    Some((fields.institutions, problem)),
                )
                .await?,
            ))
        }
    }
}

#[derive(Serialize)]
struct ScoreField {
    key: String,
    label: String,
    weight: i32,
    guidance: String,
    choices: Vec<ScoreChoice>,
    /// What is wrong with this criterion's score, shown beside it.
    error: Option<String>,
}

#[derive(Serialize)]
struct ScoreChoice {
    value: String,
    selected: bool,
}

#[derive(Serialize)]
struct OtherSheet {
    judge: String,
    scores: String,
    comment: String,
    at: String,
}

#[derive(Serialize)]
struct ScorePage {
    scenario_id: String,
    title: String,
    panel_url: String,
    finalist: FinalistCard,
    declared: bool,
    closed: bool,
    names_hidden: bool,
    fields: Vec<ScoreField>,
    comment: String,
    my_sheet_at: Option<String>,
    /// Whether the judge has sent their own sheet, so others' are shown.
    others_visible: bool,
    others: Vec<OtherSheet>,
    saved: bool,
    problem: Option<String>,
    comment_error: Option<String>,
    blocked: Option<String>,
}

/// The sent form, kept when it is refused: scores by criterion and the comment.
type Sent = (BTreeMap<String, String>, String);

async fn score_view(
    page: &PageContext,
    judge: &CurrentUser,
    id: &ScenarioId,
    team: &TeamId,
    saved: bool,
    sent: Option<(Sent, FormProblems)>,
) -> Result<HttpResponse, AppError> {
    let (view, title) = load(page, judge, id).await?;
    let finalist = view
        .finalists
        .iter()
        .find(|f| &f.team_id == team)
        .ok_or_else(|| AppError::missing("finalist", team).with("scenario", id))?;
    let labels: BTreeMap<&str, &str> = view
        .rubric
        .iter()
        .map(|c| (c.criterion.as_str(), c.label.as_str()))
        .collect();
    let (chosen, comment, problems) = match sent {
        Some(((scores, comment), problems)) => (scores, comment, problems),
        None => {
            let mine = finalist.my_sheet.as_ref();
            (
                mine.map(|s| {
                    s.scores
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
                mine.map(|s| s.comment.clone()).unwrap_or_default(),
                FormProblems::default(),
            )
        }
    };
    let fields = view
        .rubric
        .iter()
        .filter(|c| c.kind == CriterionKind::Judged)
        .map(|c| {
            let current = chosen.get(&c.criterion).cloned().unwrap_or_default();
            ScoreField {
                key: c.criterion.clone(),
                label: c.label.clone(),
                weight: c.weight,
                guidance: c.guidance.clone(),
                choices: std::iter::once(String::new())
                    .chain((1..=10).map(|n: i32| n.to_string()))
                    .map(|value| ScoreChoice {
                        selected: value == current,
                        value,
                    })
                    .collect(),
                error: problems
                    .fields
                    .get(&format!("scores.{}", c.criterion))
                    .cloned(),
            }
        })
        .collect();
    let scores_text = |scores: &BTreeMap<String, i32>| {
        scores
            .iter()
            .map(|(k, v)| {
                let label = labels.get(k.as_str()).copied().unwrap_or(k.as_str());
                format!("{label} {v}")
            })
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let data = ScorePage {
        scenario_id: id.0.clone(),
        title,
        panel_url: format!("/console/judging/{id}"),
        declared: view.declared,
        closed: view.final_phase_closed,
        names_hidden: view.names_hidden,
        fields,
        comment,
        my_sheet_at: finalist.my_sheet.as_ref().map(|s| when(&s.submitted_at)),
        others_visible: finalist.others.is_some(),
        others: finalist
            .others
            .iter()
            .flatten()
            .map(|s| OtherSheet {
                judge: format!("{} (@{})", s.judge_name, s.judge_login),
                scores: scores_text(&s.scores),
                comment: s.comment.clone(),
                at: when(&s.submitted_at),
            })
            .collect(),
        saved,
        comment_error: problems.fields.get("comment").cloned(),
        // Field problems are shown beside their fields; this says the sheet was not saved.
        problem: problems
            .problem
            .or_else(|| (!problems.fields.is_empty()).then(|| page.text("errors.invalid_field"))),
        blocked: finalist.conflict.as_ref().map(|c| conflict_text(page, c)),
        finalist: card(page, id, finalist),
    };
    let heading = page
        .text("judging.score_title")
        .replace("{name}", &data.finalist.name);
    page.render("console/score", &heading, data).await
}

/// `GET /console/judging/{id}/finalists/{team}` — the finalist's report card and PDF beside
/// the judged criteria's form.
pub async fn score_page(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<(ScenarioId, TeamId)>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, team) = path.into_inner();
    score_view(&page, &judge, &id, &team, query.saved.is_some(), None).await
}

/// The form's `score.<criterion>` fields and comment as the API's sheet.
fn sheet_of(fields: &[(String, String)]) -> (Sent, Result<SheetForm, AppError>) {
    let mut scores = BTreeMap::new();
    let mut comment = String::new();
    for (name, value) in fields {
        if let Some(key) = name.strip_prefix("score.") {
            scores.insert(key.to_owned(), value.trim().to_owned());
        } else if name == "comment" {
            comment.clone_from(value);
        }
    }
    // Each unreadable score is named (a forged form: the page offers 1–10 only).
    let mut checks = Checks::default();
    let mut numbers = BTreeMap::new();
    for (key, value) in scores.iter().filter(|(_, value)| !value.is_empty()) {
        match value.parse::<i64>() {
            Ok(n) => {
                numbers.insert(key.clone(), n);
            }
            Err(_) => checks.push(FieldProblem::new(
                &format!("scores.{key}"),
                "whole_number",
                "must be a whole number from 1 to 10",
            )),
        }
    }
    let parsed = checks.finish().map(|()| SheetForm {
        scores: numbers,
        comment: comment.clone(),
    });
    ((scores, comment), parsed)
}

/// `POST /console/judging/{id}/finalists/{team}` — `PUT …/finalists/{team}/scores`' rules;
/// a conflict of interest is shown as the block it is (403), recorded like the API's.
pub async fn score(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<(ScenarioId, TeamId)>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (id, team) = path.into_inner();
    let (sent, form) = sheet_of(&fields);
    let outcome = match form {
        Ok(form) => {
            let (judge, id, team) = (judge.clone(), id.clone(), team.clone());
            page.state
                .db
                .write(move |conn| judging::submit_sheet(conn, &judge, &id, &team, &form))
                .await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(SheetOutcome::Saved { .. }) => Ok(see_other(&format!(
            "/console/judging/{id}/finalists/{team}?saved=1"
        ))),
        Ok(SheetOutcome::Blocked(conflict)) => {
            let blocked = FormProblems {
                problem: Some(conflict_text(&page, &conflict)),
                ..FormProblems::default()
            };
            let mut response =
                score_view(&page, &judge, &id, &team, false, Some((sent, blocked))).await?;
            *response.status_mut() = StatusCode::FORBIDDEN;
            Ok(response)
        }
        Err(error) => {
            let problems = form_problems(&page, error)?;
            Ok(refused(
                score_view(&page, &judge, &id, &team, false, Some((sent, problems))).await?,
            ))
        }
    }
}

/// The kinds and measures a rubric row may take, for the department's editor.
pub(super) fn kind_choices(page: &PageContext) -> (Vec<Choice>, Vec<Choice>) {
    let kinds = ["measured", "judged"]
        .iter()
        .map(|k| Choice {
            value: (*k).to_owned(),
            label: page.code("criterion_kind", k),
        })
        .collect();
    let measures = std::iter::once(("", page.text("judging.no_measure")))
        .chain(
            ["score", "latency", "device_seconds"]
                .iter()
                .map(|m| (*m, page.code("measure", m))),
        )
        .map(|(value, label)| Choice {
            value: value.to_owned(),
            label,
        })
        .collect();
    (kinds, measures)
}
