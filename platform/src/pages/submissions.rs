//! `/submissions/{id}`: a submission's stages (refreshing while it runs) and its report,
//! with the latency histogram.

use actix_web::{HttpResponse, web};
use jiebang_evaluator::protocol::report::{LatencySummary, Report, RunReport, Score};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::ids::SubmissionId;
use crate::db::models::submissions::SubmissionStage;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::chart;
use crate::pages::scenarios::when;
use crate::services::boards::report_of;
use crate::services::submissions::detail;

#[derive(Serialize)]
struct Stage {
    stage: String,
    at: String,
}

#[derive(Serialize)]
struct Figure {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct Run {
    name: String,
    scores: Vec<Figure>,
    latency: Vec<Figure>,
    floor: Vec<Figure>,
    verdict: Option<String>,
    /// The budget lies inside the percentile's confidence interval.
    verdict_uncertain: bool,
    resources: Option<String>,
    histogram_svg: Option<String>,
}

#[derive(Serialize)]
struct SubmissionPage {
    id: String,
    scenario_id: String,
    team_id: String,
    status: SubmissionStage,
    /// The status in the page's language.
    status_name: String,
    failure: Option<String>,
    /// What the evaluator noted about how the answers were scored.
    notes: Vec<String>,
    image_digest: String,
    stages: Vec<Stage>,
    running: bool,
    runs: Vec<Run>,
    environment: Vec<Figure>,
    has_report: bool,
}

/// A measured figure: four decimals when it has a fraction, as a whole number otherwise.
fn decimal(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value}")
    } else {
        format!("{value:.4}")
    }
}

fn figure(name: &str, value: String) -> Figure {
    Figure {
        name: name.to_owned(),
        value,
    }
}

fn latency_figures(summary: Option<&LatencySummary>) -> Vec<Figure> {
    let Some(s) = summary else {
        return Vec::new();
    };
    let mut figures: Vec<Figure> = [
        ("p50_ms", s.p50_ms),
        ("p90_ms", s.p90_ms),
        ("p95_ms", s.p95_ms),
        ("p99_ms", s.p99_ms),
        ("p999_ms", s.p999_ms),
        ("max_ms", s.max_ms),
        ("mean_ms", s.mean_ms),
    ]
    .into_iter()
    .map(|(name, value)| figure(name, decimal(value)))
    .collect();
    for (name, count) in [
        ("queries", s.queries),
        ("errors", s.errors),
        ("timeouts", s.timeouts),
    ] {
        figures.push(figure(name, count.to_string()));
    }
    figures.push(figure("achieved_qps", decimal(s.achieved_qps)));
    figures
}

fn run_of(name: &str, run: &RunReport, budget_ms: Option<f64>, axis: &str) -> Run {
    let mut scores = vec![figure("metric", run.scores.metric.as_str().to_owned())];
    for (split, score) in [
        ("public", &run.scores.public),
        ("private", &run.scores.private),
        ("all", &run.scores.all),
    ] {
        if let Some(Score {
            value, low, high, ..
        }) = score
        {
            let text = format!(
                "{} ({} – {})",
                decimal(*value),
                decimal(*low),
                decimal(*high)
            );
            scores.push(figure(split, text));
        }
    }
    let buckets: Vec<(f64, u64)> = run
        .latency
        .iter()
        .flat_map(|latency| latency.buckets.iter().map(|b| (b.le_ms, b.count)))
        .collect();
    Run {
        name: name.to_owned(),
        scores,
        latency: latency_figures(run.latency.as_ref()),
        floor: latency_figures(run.floor.as_ref()),
        verdict: run
            .verdict
            .as_ref()
            .and_then(|verdict| serde_json::to_string(verdict).ok()),
        verdict_uncertain: run
            .verdict
            .as_ref()
            .and_then(|verdict| verdict.close_to_budget())
            .unwrap_or(false),
        resources: serde_json::to_string(&run.resources).ok(),
        histogram_svg: chart::histogram(&buckets, budget_ms, axis),
    }
}

/// Where the run happened, as the report's environment lists it, and the image.
fn environment_of(report: &Report) -> Vec<Figure> {
    let env = &report.environment;
    vec![
        figure("cpu_model", env.cpu_model.clone()),
        figure("cores", env.cores.to_string()),
        figure("kernel", env.kernel.clone()),
        figure("harness_version", env.harness_version.clone()),
        figure("split_seed", env.split_seed.to_string()),
        figure("load_seed", env.load_seed.to_string()),
        figure("image", report.image.clone()),
    ]
}

/// `GET /submissions/{id}` — the team, judges, operators and admins (the report's rules).
pub async fn show(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let blobs = page.state.blobs.clone();
    let (detail, report, budget) = page
        .state
        .db
        .read(move |conn| {
            let (submission, report) = report_of(conn, &blobs, &id, &user)?;
            let budget = crate::db::models::scenarios::find(conn, &submission.scenario_id)?
                .and_then(|s| s.latency_budget_ms);
            Ok((detail(conn, &id)?, report, budget))
        })
        .await?;
    let axis = page.text("submission.latency_axis");
    let mut runs = Vec::new();
    let mut environment = Vec::new();
    if let Some((_, report)) = &report {
        for (name, run) in [("sample", &report.sample), ("hidden", &report.hidden)] {
            if let Some(run) = run {
                runs.push(run_of(name, run, budget, &axis));
            }
        }
        environment = environment_of(report);
    }
    let status = detail.submission.status;
    let view = SubmissionPage {
        id: detail.submission.id.0.clone(),
        scenario_id: detail.submission.scenario_id.0.clone(),
        team_id: detail.submission.team_id.0.clone(),
        running: !status.is_final() && detail.failure.is_none(),
        status_name: page.code("stage", status.as_str()),
        status,
        failure: detail.failure.clone(),
        notes: report
            .as_ref()
            .map(|(_, report)| report.notes.clone())
            .unwrap_or_default(),
        image_digest: detail.submission.image_digest.clone(),
        stages: detail
            .stages
            .iter()
            .map(|s| Stage {
                stage: page.code("stage", s.stage.as_str()),
                at: when(&s.at),
            })
            .collect(),
        has_report: report.is_some(),
        runs,
        environment,
    };
    let title = format!("{} {}", page.text("submission.title"), view.id);
    page.render("pages/submission", &title, view)
}
