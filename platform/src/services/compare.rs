//! Judges compare two to four submissions side by side, with the probability that one
//! truly scores better than another where both have per-item data.

use jiebang_evaluator::protocol::report::{BudgetVerdict, LatencySummary, RunOutcome, SplitScores};
use jiebang_scenarios::package::MetricName;
use jiebang_scenarios::significance::SIGNIFICANCE;
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId};
use crate::db::models::submissions::SubmissionStage;
use crate::db::models::{results, submissions, teams};
use crate::error::AppError;
use crate::services::boards::{Board, stored_report};
use crate::services::significance::{self, RankedResult, TieCache};
use crate::state::AppState;
use crate::storage::BlobStore;
use crate::time::iso_time;

/// How many submissions one comparison takes: fewer is no comparison, more does not fit
/// side by side.
pub const COMPARE_MIN: usize = 2;

pub const COMPARE_MAX: usize = 4;

#[derive(Debug, Serialize)]
pub struct Column {
    pub submission_id: SubmissionId,
    pub team_id: TeamId,
    pub team_name: String,
    pub status: SubmissionStage,
    pub submitted_at: String,
    pub failure: Option<String>,
    pub report_digest: Option<String>,
    /// The hidden run's scores: `public`, `private` and `all`, each `{value, low, high}`.
    pub scores: Option<SplitScores>,
    /// The public sample run's scores.
    pub sample_scores: Option<SplitScores>,
    /// p50 … max and mean of the hidden run, with the achieved rate and errors.
    pub latency: Option<LatencySummary>,
    /// Whether the run stayed within the latency budget, and at which percentile.
    pub verdict: Option<BudgetVerdict>,
    /// CPU, memory, throttling and the like of the hidden run.
    pub resources: Option<RunOutcome>,
    pub device_seconds: Option<f64>,
    /// The stored per-item pairs, for the probabilities; never shown.
    #[serde(skip)]
    pub items_digest: Option<String>,
}

/// How two compared submissions stand on one board's part of the hidden set.
#[derive(Debug, Clone, Serialize)]
pub struct PairSignificance {
    /// Asked for before `lower`.
    pub upper: SubmissionId,
    pub lower: SubmissionId,
    pub board: Board,
    /// The probability that `upper` truly scores better than `lower` (paired bootstrap
    /// over the items both were scored on).
    pub probability: f64,
    /// Neither is better with 95 % probability.
    pub tied: bool,
}

/// The comparison: the columns, and for every pair of them that both have per-item data,
/// on each board, how likely the earlier one truly scores better. The one rule for the
/// API and the judges' page.
pub async fn comparison(
    state: &AppState,
    user: CurrentUser,
    scenario: ScenarioId,
    ids: Vec<SubmissionId>,
) -> Result<(Vec<Column>, Vec<PairSignificance>), AppError> {
    let blobs = state.blobs.clone();
    let columns = state
        .db
        .read(move |conn| columns_of(conn, &blobs, &user, &scenario, &ids))
        .await?;
    let ranked: Vec<(Option<MetricName>, RankedResult)> = columns
        .iter()
        .map(|c| {
            (
                c.scores.as_ref().map(|s| s.metric),
                RankedResult {
                    submission_id: c.submission_id.0.clone(),
                    items_digest: c.items_digest.clone(),
                    within_budget: c.verdict.as_ref().is_none_or(|v| v.within_budget),
                    verdict_uncertain: c.verdict.as_ref().and_then(|v| v.close_to_budget()),
                },
            )
        })
        .collect();
    let (blobs, cache) = (state.blobs.clone(), state.ties.clone());
    // CPU work, off the async threads.
    let pairs = tokio::task::spawn_blocking(move || {
        crate::db::background_priority();
        pairwise(&blobs, &cache, &ranked)
    })
    .await?;
    Ok((columns, pairs))
}

fn pairwise(
    blobs: &BlobStore,
    cache: &TieCache,
    columns: &[(Option<MetricName>, RankedResult)],
) -> Vec<PairSignificance> {
    // Every pair of columns scored by the same metric, the earlier one as the upper.
    let mut pairs = Vec::new();
    for (i, (upper_metric, upper)) in columns.iter().enumerate() {
        for (lower_metric, lower) in &columns[i + 1..] {
            if let Some(metric) = upper_metric.filter(|m| Some(*m) == *lower_metric) {
                pairs.push((metric, upper, lower));
            }
        }
    }
    let mut found = Vec::new();
    for board in [Board::Public, Board::Private] {
        for (metric, upper, lower) in &pairs {
            let probability =
                significance::probabilities(blobs, cache, *metric, board, &[(upper, lower)]);
            if let Some(probability) = probability.into_iter().flatten().next() {
                found.push(PairSignificance {
                    upper: SubmissionId::from(upper.submission_id.as_str()),
                    lower: SubmissionId::from(lower.submission_id.as_str()),
                    board,
                    probability,
                    tied: probability < SIGNIFICANCE && probability > 1.0 - SIGNIFICANCE,
                });
            }
        }
    }
    found
}

pub fn bad_query(message: String) -> AppError {
    AppError::bad_request(
        "bad_query",
        format!("query parameter `submissions`: {message}"),
    )
}

/// One column per submission asked for, in order; every one must be of the scenario (the
/// API's and the judge console's).
pub fn columns_of(
    conn: &mut DbConnection,
    blobs: &BlobStore,
    user: &CurrentUser,
    scenario: &ScenarioId,
    ids: &[SubmissionId],
) -> Result<Vec<Column>, AppError> {
    let scenario = crate::services::scenarios::visible(conn, scenario, &user.visibility())?;
    let mut columns = Vec::with_capacity(ids.len());
    for id in ids {
        let submission = submissions::find(conn, id)?
            .filter(|s| s.scenario_id == scenario.id)
            .ok_or_else(|| {
                bad_query(format!(
                    "`{id}` is not a submission of scenario `{}`",
                    scenario.id
                ))
            })?;
        let team_name = teams::find(conn, &submission.team_id)?
            .map(|t| t.name)
            .unwrap_or_default();
        let result = results::find(conn, id)?;
        let report = result
            .as_ref()
            .map(|r| stored_report(blobs, r))
            .transpose()?;
        let (sample, hidden) = report.map_or((None, None), |r| (r.sample, r.hidden));
        let (scores, latency, verdict, resources) = match hidden {
            Some(run) => (
                Some(run.scores),
                run.latency,
                run.verdict,
                Some(run.resources),
            ),
            None => (None, None, None, None),
        };
        columns.push(Column {
            submission_id: submission.id,
            team_id: submission.team_id,
            team_name,
            status: submission.status,
            submitted_at: iso_time(submission.created_at),
            failure: submission.failure,
            report_digest: result.as_ref().map(|r| r.report_digest.clone()),
            scores,
            sample_scores: sample.map(|run| run.scores),
            latency,
            verdict,
            resources,
            items_digest: result.as_ref().and_then(|r| r.items_digest.clone()),
            device_seconds: result.and_then(|r| r.device_seconds),
        });
    }
    Ok(columns)
}

/// The distinct ids asked for, in the order given, within the bounds.
pub fn parse_ids(list: &str) -> Result<Vec<SubmissionId>, AppError> {
    let mut ids: Vec<SubmissionId> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = SubmissionId::from(part);
        if ids.contains(&id) {
            return Err(bad_query(format!("`{part}` is named twice")));
        }
        ids.push(id);
    }
    if !(COMPARE_MIN..=COMPARE_MAX).contains(&ids.len()) {
        return Err(bad_query(format!(
            "name {COMPARE_MIN} to {COMPARE_MAX} submissions separated by commas, not {}",
            ids.len()
        )));
    }
    Ok(ids)
}
