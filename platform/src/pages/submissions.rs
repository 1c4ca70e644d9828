//! `/submissions/{id}`: a submission's stages (refreshing while it runs) and its report,
//! with the latency histogram.

use actix_web::{HttpResponse, web};
use jiebang_evaluator::protocol::report::{
    LatencySummary, MeasurementQuality, Report, RunReport, Score,
};
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
    /// The measurement-quality section (hidden serve runs), names in the page's language.
    quality: Vec<Figure>,
    /// The figures that passed their thresholds, when the kept run was still disturbed.
    disturbed: Vec<String>,
}

/// The submission's evaluation on one package version, as the page's table shows it.
#[derive(Serialize)]
struct VersionRow {
    version: i32,
    status: String,
    score: String,
    /// The budget verdict, when the run reached one.
    within: bool,
    over: bool,
    latency: String,
    finished: String,
    failure: Option<String>,
    current: bool,
    rescore: bool,
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
    /// Other work on the node disturbed the timed run; the job waits for a quiet one.
    waiting_for_quiet_node: bool,
    runs: Vec<Run>,
    environment: Vec<Figure>,
    has_report: bool,
    /// One row per package version, shown once the scenario has a package.
    versions: Vec<VersionRow>,
    /// The version the report below is from.
    report_version: Option<i32>,
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

/// A score with its interval and, where the report records it, how many of its part's
/// items were scored: "0.9 (0.85 – 0.95) · scored 300 of 300 items".
fn score_text(page: &PageContext, score: &Score) -> String {
    let mut text = format!(
        "{} ({} – {})",
        decimal(score.value),
        decimal(score.low),
        decimal(score.high)
    );
    if score.items_in_set > 0 {
        let scored = page
            .text("submission.scored")
            .replace("{scored}", &score.items.to_string())
            .replace("{in_set}", &score.items_in_set.to_string());
        text.push_str(" · ");
        text.push_str(&scored);
    }
    text
}

/// A share as a percentage with one decimal.
fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// Figures shown side by side (`a / b`), a dash for each the host did not show.
fn joined(values: &[Option<String>]) -> Option<String> {
    values.iter().any(Option::is_some).then(|| {
        values
            .iter()
            .map(|v| v.clone().unwrap_or_else(|| "—".to_owned()))
            .collect::<Vec<_>>()
            .join(" / ")
    })
}

/// The measurement-quality section as rows named in the page's language.
fn quality_figures(page: &PageContext, quality: &MeasurementQuality) -> Vec<Figure> {
    let lateness = quality.send_lateness.as_ref().map(|l| {
        format!(
            "{} / {} / {}",
            decimal(l.p50_us),
            decimal(l.p99_us),
            decimal(l.max_us)
        )
    });
    let floors = |which: &Option<jiebang_evaluator::protocol::report::FloorFigures>| {
        which
            .as_ref()
            .map(|f| format!("{} / {}", decimal(f.p50_ms), decimal(f.p99_ms)))
    };
    let floor = match (floors(&quality.floor_before), floors(&quality.floor_after)) {
        (None, None) => None,
        (before, after) => Some(format!(
            "{} → {}",
            before.unwrap_or_else(|| "—".to_owned()),
            after.unwrap_or_else(|| "—".to_owned())
        )),
    };
    let throttling = quality
        .throttled_periods
        .map(|periods| match quality.throttled_seconds {
            Some(seconds) => format!("{periods} ({} s)", decimal(seconds)),
            None => periods.to_string(),
        });
    [
        ("submission.q_send_lateness", lateness),
        ("submission.q_floor", floor),
        (
            "submission.q_host_pressure",
            joined(&[
                quality.host_pressure_some.map(percent),
                quality.host_pressure_outside.map(percent),
            ]),
        ),
        (
            "submission.q_container_pressure",
            joined(&[
                quality.container_pressure_some.map(percent),
                quality.container_wait.map(percent),
            ]),
        ),
        ("submission.q_steal", quality.steal.map(percent)),
        ("submission.q_throttling", throttling),
        (
            "submission.q_attempts",
            Some(quality.attempts.max(1).to_string()),
        ),
    ]
    .into_iter()
    .map(|(key, value)| figure(&page.text(key), value.unwrap_or_else(|| "—".to_owned())))
    .collect()
}

fn run_of(page: &PageContext, name: &str, run: &RunReport, budget_ms: Option<f64>) -> Run {
    let mut scores = vec![figure("metric", run.scores.metric.as_str().to_owned())];
    for (split, score) in [
        ("public", &run.scores.public),
        ("private", &run.scores.private),
        ("all", &run.scores.all),
    ] {
        if let Some(score) = score {
            scores.push(figure(split, score_text(page, score)));
        }
    }
    let axis = page.text("submission.latency_axis");
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
        histogram_svg: chart::histogram(&buckets, budget_ms, &axis),
        quality: run
            .quality
            .as_ref()
            .map(|quality| quality_figures(page, quality))
            .unwrap_or_default(),
        disturbed: run
            .quality
            .iter()
            .flat_map(|quality| &quality.disturbances)
            .map(|d| {
                format!(
                    "{}: {} > {}",
                    page.code("figure", d.figure.as_str()),
                    decimal(d.value),
                    decimal(d.threshold)
                )
            })
            .collect(),
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
    let (detail, report, budget, report_version) = page
        .state
        .db
        .read(move |conn| {
            let (submission, report) = report_of(conn, &blobs, &id, &user)?;
            let budget = crate::db::models::scenarios::find(conn, &submission.scenario_id)?
                .and_then(|s| s.latency_budget_ms);
            let report_version =
                crate::db::models::results::find(conn, &id)?.map(|r| r.package_version);
            Ok((detail(conn, &id)?, report, budget, report_version))
        })
        .await?;
    let mut runs = Vec::new();
    let mut environment = Vec::new();
    if let Some((_, report)) = &report {
        for (name, run) in [("sample", &report.sample), ("hidden", &report.hidden)] {
            if let Some(run) = run {
                runs.push(run_of(&page, name, run, budget));
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
        waiting_for_quiet_node: status == SubmissionStage::WaitingForQuietNode,
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
        versions: detail
            .evaluations
            .iter()
            .filter(|e| e.package_version > 0)
            .map(|e| VersionRow {
                version: e.package_version,
                status: page.code("job", e.status.as_str()),
                score: e.public_score.map_or_else(|| "—".to_owned(), decimal),
                within: e.within_budget == Some(true),
                over: e.within_budget == Some(false),
                latency: e
                    .latency_ms
                    .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.2} ms")),
                finished: e
                    .finished_at
                    .as_deref()
                    .map_or_else(|| "—".to_owned(), when),
                failure: e.failure.clone(),
                current: e.current,
                rescore: e.rescore,
            })
            .collect(),
        report_version: report_version.filter(|v| *v > 0),
    };
    let title = format!("{} {}", page.text("submission.title"), view.id);
    page.render("pages/submission", &title, view)
}
