//! `/submissions/{id}`: a submission's stages (refreshing while it runs) and its report,
//! with the latency histogram.

use actix_web::{HttpResponse, web};
use jiebang_evaluator::protocol::report::RunReport;
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::ids::SubmissionId;
use crate::db::models::submissions::SubmissionStage;
use crate::db::models::users::Role;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::organizations::{LineCard, line_card};
use crate::pages::report_card::{
    AcceleratorFigures, Figure, Run, accelerators_of, decimal, environment_of, run_of,
};
use crate::pages::scenarios::when;
use crate::services::accelerator_waits::{AcceleratorWait, Shortage, wait_of_submission};
use crate::services::billing::statements;
use crate::services::boards::{public_rank, report_of};
use crate::services::overview::alive_millis;
use crate::services::submissions::detail;

#[derive(Serialize)]
struct Stage {
    stage: String,
    at: String,
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

/// One note of the report as the page shows it.
#[derive(Serialize)]
struct NoteLine {
    text: String,
    lang: Option<&'static str>,
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
    /// The failure is the evaluator's own words (English): marked so on a Chinese page.
    failure_lang: Option<&'static str>,
    /// Whether this submission used one of the day's submissions.
    counts_toward_quota: bool,
    /// The card at the top: the hidden run's public score, its verdict, items scored.
    headline: Option<Headline>,
    /// What the evaluator noted about how the answers were scored, in the page's language
    /// (a note stored before notes had codes in English, marked so).
    notes: Vec<NoteLine>,
    image_digest: String,
    stages: Vec<Stage>,
    running: bool,
    /// Other work on the node disturbed the timed run; the job waits for a quiet one.
    waiting_for_quiet_node: bool,
    /// No node can give the run the accelerators it asks for now, and why.
    waiting_for_accelerator: Option<String>,
    runs: Vec<Run>,
    environment: Vec<Figure>,
    /// Each accelerator held: leased seconds, busy % and peak memory where known.
    accelerators: Vec<AcceleratorFigures>,
    has_report: bool,
    /// One row per package version, shown once the scenario has a package.
    versions: Vec<VersionRow>,
    /// The version the report below is from.
    report_version: Option<i32>,
    /// What its evaluations were charged, at the price in force when each finished.
    charges: Vec<LineCard>,
}

/// The report card's headline: what a team wants to know first.
#[derive(Serialize)]
struct Headline {
    metric: String,
    /// "0.9123 ± 0.0120".
    score: String,
    /// "95 % interval 0.9003 – 0.9243".
    interval: String,
    /// "rank 3 of 41 on the public board", when this is the team's entry there.
    rank: Option<String>,
    items: Option<String>,
    within_budget: Option<bool>,
    verdict: Option<String>,
}

fn headline_of(page: &PageContext, run: &RunReport, rank: Option<(i64, i64)>) -> Option<Headline> {
    let score = run.scores.public.as_ref().or(run.scores.all.as_ref())?;
    let verdict = run.verdict.as_ref();
    Some(Headline {
        metric: page.code("metric", run.scores.metric.as_str()),
        score: format!(
            "{} ± {}",
            decimal(score.value),
            decimal((score.high - score.low) / 2.0)
        ),
        interval: page
            .text("report.interval")
            .replace("{low}", &decimal(score.low))
            .replace("{high}", &decimal(score.high)),
        rank: rank.map(|(rank, teams)| {
            page.text("submission.rank")
                .replace("{rank}", &rank.to_string())
                .replace("{teams}", &teams.to_string())
        }),
        items: (score.items_in_set > 0).then(|| {
            page.text("submission.scored")
                .replace("{scored}", &score.items.to_string())
                .replace("{in_set}", &score.items_in_set.to_string())
        }),
        within_budget: verdict.map(|v| v.within_budget),
        verdict: verdict.map(|v| {
            page.text(if v.within_budget {
                "report.headline_within"
            } else {
                "report.headline_over"
            })
            .replace("{percentile}", &decimal(v.percentile))
            .replace("{budget}", &format!("{} ms", decimal(v.budget_ms)))
        }),
    })
}

/// Why no node takes the job, in the page's language: "no node has a free MLU370 device".
pub fn accelerator_wait_text(page: &PageContext, wait: &AcceleratorWait) -> String {
    let model = wait
        .model
        .clone()
        .unwrap_or_else(|| page.text("submission.any_accelerator"));
    let key = match wait.shortage {
        Shortage::NoNode => "submission.accelerator_no_node",
        Shortage::NoneFree => "submission.accelerator_none_free",
    };
    page.text(key)
        .replace("{count}", &wait.count.to_string())
        .replace("{model}", &model)
}

/// The logs this viewer may read inline: the sample run's for everyone who sees the page,
/// the hidden run's for judges and operators only (it could carry hidden inputs out).
type Logs = (Option<Vec<u8>>, Option<Vec<u8>>);

/// `GET /submissions/{id}` — the team, judges, operators and admins (the report's rules).
pub async fn show(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let blobs = page.state.blobs.clone();
    let alive = alive_millis(&page.state);
    let (detail, report, budget, (report_version, rank), logs, (accelerator, charges)) = page
        .state
        .db
        .read(move |conn| {
            let (submission, report) = report_of(conn, &blobs, &id, &user)?;
            let scenario = crate::db::models::scenarios::find(conn, &submission.scenario_id)?;
            let budget = scenario.as_ref().and_then(|s| s.latency_budget_ms);
            let result = crate::db::models::results::find(conn, &id)?;
            let report_version = result.as_ref().map(|r| r.package_version);
            let rank = match (&scenario, report_version) {
                (Some(scenario), Some(version)) => {
                    public_rank(conn, scenario, &submission.phase_id, &id, version)?
                }
                _ => None,
            };
            let hidden_allowed = user.sees_all_work() || user.has_role(Role::Operator);
            let read = |digest: Option<&String>| match digest {
                Some(digest) => blobs.read(digest).map(Some),
                None => Ok(None),
            };
            let logs: Logs = match &result {
                Some(result) => (
                    read(result.sample_logs_digest.as_ref())?,
                    if hidden_allowed {
                        read(result.hidden_logs_digest.as_ref())?
                    } else {
                        None
                    },
                ),
                None => (None, None),
            };
            let accelerator = wait_of_submission(conn, &id, alive)?;
            // Charges only come with a result, which the report's rules let this user see.
            let charges = if report.is_some() {
                statements::of_submission(conn, &id)?
            } else {
                Vec::new()
            };
            Ok((
                detail(conn, &id)?,
                report,
                budget,
                (report_version, rank),
                logs,
                (accelerator, charges),
            ))
        })
        .await?;
    let mut runs = Vec::new();
    let mut environment = Vec::new();
    let mut accelerators = Vec::new();
    let (sample_log, hidden_log) = logs;
    let mut headline = None;
    if let Some((_, report)) = &report {
        for (name, run, log) in [
            ("sample", &report.sample, sample_log),
            ("hidden", &report.hidden, hidden_log),
        ] {
            if let Some(run) = run {
                runs.push(run_of(&page, name, run, budget, log));
            }
        }
        headline = report
            .hidden
            .as_ref()
            .and_then(|run| headline_of(&page, run, rank));
        environment = environment_of(&page, report);
        accelerators = accelerators_of(&page, report);
    }
    let status = detail.submission.status;
    let view = SubmissionPage {
        id: detail.submission.id.0.clone(),
        scenario_id: detail.submission.scenario_id.0.clone(),
        team_id: detail.submission.team_id.0.clone(),
        running: !status.is_final() && detail.failure.is_none(),
        waiting_for_quiet_node: status == SubmissionStage::WaitingForQuietNode,
        waiting_for_accelerator: accelerator.map(|wait| {
            page.text("submission.waiting_accelerator")
                .replace("{why}", &accelerator_wait_text(&page, &wait))
        }),
        status_name: page.code("stage", status.as_str()),
        status,
        failure_lang: (detail.failure.is_some() && page.lang == crate::pages::site::Lang::Zh)
            .then_some("en"),
        failure: detail.failure.clone(),
        counts_toward_quota: detail.counts_toward_quota,
        headline,
        notes: report
            .as_ref()
            .map(|(_, report)| {
                report
                    .notes
                    .iter()
                    .map(|note| {
                        let (text, lang) = crate::pages::error_text::note_text(
                            &page.state.site.catalogs,
                            page.lang,
                            note,
                        );
                        NoteLine { text, lang }
                    })
                    .collect()
            })
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
        accelerators,
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
        charges: charges.iter().map(|line| line_card(&page, line)).collect(),
    };
    let title = format!("{} {}", page.text("submission.title"), view.id);
    page.render("pages/submission", &title, view).await
}
