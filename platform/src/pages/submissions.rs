//! `/submissions/{id}`: a submission's stages (refreshing while it runs) and its report,
//! with the latency histogram.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;

use crate::api::results::report_of;
use crate::auth::CurrentUser;
use crate::db::ids::SubmissionId;
use crate::db::models::submissions::SubmissionStage;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::chart;
use crate::pages::scenarios::when;
use crate::services::submissions::detail;

#[derive(Serialize)]
struct Stage {
    stage: SubmissionStage,
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
    resources: Option<String>,
    histogram_svg: Option<String>,
}

#[derive(Serialize)]
struct SubmissionPage {
    id: String,
    scenario_id: String,
    team_id: String,
    status: SubmissionStage,
    failure: Option<String>,
    image_digest: String,
    stages: Vec<Stage>,
    running: bool,
    runs: Vec<Run>,
    environment: Vec<Figure>,
    has_report: bool,
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() != 0.0)
            .map_or_else(|| n.to_string(), |f| format!("{f:.4}")),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

fn latency_figures(summary: &Value) -> Vec<Figure> {
    [
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "mean_ms",
        "queries",
        "errors",
        "timeouts",
        "achieved_qps",
    ]
    .iter()
    .filter(|k| !summary[**k].is_null())
    .map(|k| Figure {
        name: (*k).to_owned(),
        value: text_of(&summary[*k]),
    })
    .collect()
}

fn run_of(name: &str, run: &Value, budget_ms: Option<f64>, axis: &str) -> Run {
    let mut scores = Vec::new();
    if let Some(splits) = run["scores"].as_object() {
        for (split, score) in splits {
            if score.is_null() {
                continue;
            }
            let value = match (score.get("score"), score.get("low"), score.get("high")) {
                (Some(s), Some(l), Some(h)) => {
                    format!("{} ({} – {})", text_of(s), text_of(l), text_of(h))
                }
                _ => text_of(score),
            };
            scores.push(Figure {
                name: split.clone(),
                value,
            });
        }
    }
    let buckets: Vec<(f64, u64)> = run["latency"]["buckets"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|b| Some((b["le_ms"].as_f64()?, b["count"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    Run {
        name: name.to_owned(),
        scores,
        latency: latency_figures(&run["latency"]),
        floor: latency_figures(&run["floor"]),
        verdict: (!run["verdict"].is_null()).then(|| run["verdict"].to_string()),
        resources: (!run["resources"].is_null()).then(|| run["resources"].to_string()),
        histogram_svg: chart::histogram(&buckets, budget_ms, axis),
    }
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
        for name in ["sample", "hidden"] {
            if !report[name].is_null() {
                runs.push(run_of(name, &report[name], budget, &axis));
            }
        }
        if let Some(env) = report["environment"].as_object() {
            environment = env
                .iter()
                .map(|(k, v)| Figure {
                    name: k.clone(),
                    value: text_of(v),
                })
                .collect();
        }
        environment.push(Figure {
            name: "image".into(),
            value: text_of(&report["image"]),
        });
    }
    let status = detail.submission.status;
    let view = SubmissionPage {
        id: detail.submission.id.0.clone(),
        scenario_id: detail.submission.scenario_id.0.clone(),
        team_id: detail.submission.team_id.0.clone(),
        running: !status.is_final() && detail.failure.is_none(),
        status,
        failure: detail.failure.clone(),
        image_digest: detail.submission.image_digest.clone(),
        stages: detail
            .stages
            .iter()
            .map(|s| Stage {
                stage: s.stage,
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
