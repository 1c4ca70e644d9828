//! The judge console: the panels the judge sits on, every board, side-by-side comparison,
//! reviews.

use actix_web::{HttpRequest, HttpResponse, web};
use jiebang_evaluator::protocol::report::{Score, SplitScores};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::session::CsrfForm;
use crate::auth::{CurrentUser, Judge, JudgeOrAdmin};
use crate::db::ids::{ScenarioId, SubmissionId};
use crate::db::models::reviews::{self, NewReview, Recommendation};
use crate::db::models::users::Role;
use crate::db::models::{submissions, teams};
use crate::error::AppError;
use crate::pages::scenarios::when;
use crate::pages::{PageContext, see_other};
use crate::services::boards::Board;
use crate::services::compare::{comparison, parse_ids};
use crate::services::reviews::put_review;
use crate::time::iso_time;
use crate::validate::FieldProblem;

use super::{Choice, EditQuery, ListQuery, fixable, refused, scenario_list};

/// `GET /console/judge` — every scenario with its boards, a page at a time.
pub async fn judge(
    page: PageContext,
    JudgeOrAdmin(user): JudgeOrAdmin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let list = scenario_list(&page, user.visibility(), None, &query).await?;
    let panels = if user.has_role(Role::Judge) {
        super::panel::panel_rows(&page, user.clone()).await?
    } else {
        Vec::new()
    };
    let title = page.text("console.judge_title");
    page.render(
        "console/judge",
        &title,
        JudgeConsole {
            list,
            is_judge: user.has_role(Role::Judge),
            panels,
        },
    )
    .await
}

#[derive(Serialize)]
struct JudgeConsole {
    #[serde(flatten)]
    list: super::ScenarioList,
    is_judge: bool,
    /// The panels this judge sits on, with their progress.
    panels: Vec<super::panel::PanelRow>,
}

#[derive(Serialize)]
struct CompareColumn {
    submission_id: String,
    team: String,
    review_url: String,
}

#[derive(Serialize)]
struct CompareRow {
    label: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct ComparePage {
    scenario_id: String,
    columns: Vec<CompareColumn>,
    rows: Vec<CompareRow>,
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |n| format!("{n:.4}"))
}

/// One split's score with its interval, from a run's scores if it has that split.
fn score(scores: Option<&SplitScores>, split: fn(&SplitScores) -> Option<&Score>) -> String {
    scores.and_then(split).map_or_else(
        || "—".to_owned(),
        |s| format!("{:.4} ({:.4} – {:.4})", s.value, s.low, s.high),
    )
}

/// `GET /console/scenarios/{id}/compare?submissions=a,b` (or one `submissions` per
/// checkbox) — the comparison of `GET /api/v1/scenarios/{id}/compare`.
pub async fn compare(
    page: PageContext,
    JudgeOrAdmin(user): JudgeOrAdmin,
    path: web::Path<ScenarioId>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let asked: Vec<String> = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == "submissions")
        .map(|(_, v)| v.into_owned())
        .collect();
    let ids = parse_ids(&asked.join(","))?;
    let (columns, significance) = comparison(&page.state, user, id.clone(), ids).await?;
    // Each column against the one to its left: how likely the left one truly scores higher.
    let against_left = |board: Board| -> Vec<String> {
        let mut cells = vec!["—".to_owned()];
        cells.extend(columns.windows(2).map(|pair| {
            significance
                .iter()
                .find(|s| {
                    s.board == board
                        && s.upper == pair[0].submission_id
                        && s.lower == pair[1].submission_id
                })
                .map_or_else(
                    || "—".to_owned(),
                    |s| {
                        let tied = if s.tied {
                            format!(" ≈ {}", page.text("console.tied"))
                        } else {
                            String::new()
                        };
                        format!("{:.3}{tied}", s.probability)
                    },
                )
        }));
        cells
    };
    let row =
        |label: &str, cell: &dyn Fn(&crate::services::compare::Column) -> String| CompareRow {
            label: page.text(label),
            cells: columns.iter().map(cell).collect(),
        };
    let rows = vec![
        row("console.status", &|c| page.code("stage", c.status.as_str())),
        row("console.submitted", &|c| when(&c.submitted_at)),
        row("console.score_all", &|c| {
            score(c.scores.as_ref(), |s| s.all.as_ref())
        }),
        row("console.score_public", &|c| {
            score(c.scores.as_ref(), |s| s.public.as_ref())
        }),
        row("console.score_private", &|c| {
            score(c.scores.as_ref(), |s| s.private.as_ref())
        }),
        CompareRow {
            label: page.text("console.left_better_public"),
            cells: against_left(Board::Public),
        },
        CompareRow {
            label: page.text("console.left_better_private"),
            cells: against_left(Board::Private),
        },
        row("console.score_sample", &|c| {
            score(c.sample_scores.as_ref(), |s| s.all.as_ref())
        }),
        row("console.p50", &|c| {
            number(c.latency.as_ref().map(|l| l.p50_ms))
        }),
        row("console.p99", &|c| {
            number(c.latency.as_ref().map(|l| l.p99_ms))
        }),
        row("console.within_budget", &|c| {
            let Some(verdict) = c.verdict.as_ref() else {
                return "—".to_owned();
            };
            let said = page.text(if verdict.within_budget {
                "board.within"
            } else {
                "board.over"
            });
            match verdict.close_to_budget() {
                Some(true) => format!("{said} ({})", page.text("board.uncertain")),
                _ => said,
            }
        }),
        row("console.device_seconds", &|c| {
            c.device_seconds
                .map_or_else(|| "—".to_owned(), |s| format!("{s:.1}"))
        }),
        row("console.failure", &|c| {
            c.failure.clone().unwrap_or_default()
        }),
    ];
    let view = ComparePage {
        scenario_id: id.0.clone(),
        columns: columns
            .iter()
            .map(|c| CompareColumn {
                submission_id: c.submission_id.0.clone(),
                team: c.team_name.clone(),
                review_url: format!("/console/submissions/{}/review", c.submission_id),
            })
            .collect(),
        rows,
    };
    let title = page.text("console.compare_title");
    page.render("console/compare", &title, view).await
}

/// The review form's fields as typed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewFields {
    pub score: String,
    pub recommendation: String,
    pub text: String,
}

impl ReviewFields {
    fn review(&self) -> Result<NewReview, AppError> {
        let score = self.score.trim().parse::<i64>().map_err(|_| {
            AppError::from(
                FieldProblem::new(
                    "score",
                    "out_of_range",
                    "must be a whole number from 1 to 5",
                )
                .with("min", 1)
                .with("max", 5),
            )
        })?;
        let recommendation =
            serde_json::from_value(json!(self.recommendation.trim())).map_err(|_| {
                AppError::from(FieldProblem::new(
                    "recommendation",
                    "not_a_choice",
                    "must be none, shortlist or award",
                ))
            })?;
        let review = NewReview {
            score,
            recommendation,
            text: self.text.clone(),
        };
        review.check()?;
        Ok(review)
    }
}

#[derive(Serialize)]
struct ReviewPage {
    submission_id: String,
    scenario_id: String,
    team: String,
    status: String,
    submission_url: String,
    fields: ReviewFields,
    saved_at: Option<String>,
    saved: bool,
    problem: Option<String>,
    scores: Vec<Choice>,
    recommendations: Vec<Choice>,
}

async fn review_view(
    page: &PageContext,
    judge: CurrentUser,
    id: SubmissionId,
    sent: Option<(ReviewFields, String)>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let (submission, team, review) = page
        .state
        .db
        .read(move |conn| {
            let submission = submissions::find(conn, &id)?
                .ok_or_else(|| AppError::missing("submission", &id))?;
            let team = teams::find(conn, &submission.team_id)?
                .map(|t| t.name)
                .unwrap_or_default();
            let review = reviews::find(conn, &submission.id, &judge.id)?;
            Ok((submission, team, review))
        })
        .await?;
    let saved_at = review.as_ref().map(|r| when(&iso_time(r.updated_at)));
    let (fields, problem) = match (sent, review) {
        (Some((fields, problem)), _) => (fields, Some(problem)),
        (None, Some(review)) => (
            ReviewFields {
                score: review.score.to_string(),
                recommendation: review.recommendation.as_str().to_owned(),
                text: review.body,
            },
            None,
        ),
        (None, None) => (
            ReviewFields {
                score: "3".into(),
                recommendation: Recommendation::None.as_str().to_owned(),
                text: String::new(),
            },
            None,
        ),
    };
    let view = ReviewPage {
        submission_url: format!("/submissions/{}", submission.id),
        submission_id: submission.id.0,
        scenario_id: submission.scenario_id.0,
        team,
        status: submission.status.to_string(),
        fields,
        saved_at,
        saved,
        problem,
        scores: (1..=5)
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
            })
            .collect(),
        recommendations: ["none", "shortlist", "award"]
            .iter()
            .map(|r| Choice {
                value: (*r).to_owned(),
                label: page.text(&format!("console.recommend_{r}")),
            })
            .collect(),
    };
    let title = page.text("console.review_title");
    page.render("console/review", &title, view).await
}

/// `GET /console/submissions/{id}/review` — the judge's review form and saved review.
pub async fn review_page(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<SubmissionId>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    review_view(&page, judge, path.into_inner(), None, query.saved.is_some()).await
}

/// `POST /console/submissions/{id}/review` — `PUT /api/v1/submissions/{id}/review`'s rules.
pub async fn review(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<SubmissionId>,
    CsrfForm(fields): CsrfForm<ReviewFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let outcome = match fields.review() {
        Ok(review) => {
            let (judge, id) = (judge.clone(), id.clone());
            page.state
                .db
                .write(move |conn| put_review(conn, &judge, &id, &review))
                .await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/console/submissions/{id}/review?saved=1"
        ))),
        Err(error) => {
            let problem = fixable(&page, error)?;
            Ok(refused(
                review_view(&page, judge, id, Some((fields, problem)), false).await?,
            ))
        }
    }
}
