//! The submission page's report card: a run's scores, latency, budget verdict, resources
//! and log as labelled figures in the visitor's language — never raw JSON.

use jiebang_evaluator::harness::verdict::BudgetVerdict;
use jiebang_evaluator::protocol::report::{
    LatencySummary, MeasurementQuality, Report, RunReport, Score,
};
use jiebang_evaluator::protocol::report::{RunOutcome, Termination};
use serde::Serialize;

use crate::pages::PageContext;
use crate::pages::chart;

#[derive(Serialize)]
pub struct Figure {
    name: String,
    value: String,
}

#[derive(Serialize)]
pub struct Run {
    name: String,
    scores: Vec<Figure>,
    latency: Vec<Figure>,
    floor: Vec<Figure>,
    /// The budget verdict in words: "within budget: p90 12.3 ms ≤ 20 ms …".
    verdict: Option<String>,
    within_budget: Option<bool>,
    /// The budget lies inside the percentile's confidence interval.
    verdict_uncertain: bool,
    /// How the container ended and what it used, as labelled figures.
    resources: Vec<Figure>,
    /// The run's container log (the sample run's for the team; the hidden run's only for
    /// judges and operators), cut to its last part when long.
    log_text: Option<String>,
    log_cut: bool,
    histogram_svg: Option<String>,
    /// The measurement-quality section (hidden serve runs), names in the page's language.
    quality: Vec<Figure>,
    /// The figures that passed their thresholds, when the kept run was still disturbed.
    disturbed: Vec<String>,
}

/// A measured figure: four decimals when it has a fraction, as a whole number otherwise.
pub fn decimal(value: f64) -> String {
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

fn latency_figures(page: &PageContext, summary: Option<&LatencySummary>) -> Vec<Figure> {
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
    .map(|(name, value)| figure(&page.code("figure", name), decimal(value)))
    .collect();
    for (name, count) in [
        ("queries", s.queries),
        ("errors", s.errors),
        ("timeouts", s.timeouts),
    ] {
        figures.push(figure(&page.code("figure", name), count.to_string()));
    }
    figures.push(figure(
        &page.code("figure", "achieved_qps"),
        decimal(s.achieved_qps),
    ));
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
    let mut attempts = quality.attempts.max(1).to_string();
    if let Some(seconds) = quality.repeated_seconds.filter(|_| quality.attempts > 1) {
        attempts.push_str(" · ");
        attempts.push_str(
            &page
                .text("submission.q_repeated")
                .replace("{seconds}", &decimal(seconds)),
        );
    }
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
        ("submission.q_attempts", Some(attempts)),
    ]
    .into_iter()
    .map(|(key, value)| figure(&page.text(key), value.unwrap_or_else(|| "—".to_owned())))
    .collect()
}

pub fn run_of(
    page: &PageContext,
    name: &str,
    run: &RunReport,
    budget_ms: Option<f64>,
    log: Option<Vec<u8>>,
) -> Run {
    let mut scores = vec![figure(
        &page.code("figure", "metric"),
        page.code("metric", run.scores.metric.as_str()),
    )];
    for (split, score) in [
        ("public", &run.scores.public),
        ("private", &run.scores.private),
        ("all", &run.scores.all),
    ] {
        if let Some(score) = score {
            scores.push(figure(&page.code("split", split), score_text(page, score)));
        }
    }
    let axis = page.text("submission.latency_axis");
    let buckets: Vec<(f64, u64)> = run
        .latency
        .iter()
        .flat_map(|latency| latency.buckets.iter().map(|b| (b.le_ms, b.count)))
        .collect();
    let (log, log_cut) = log.map_or((None, false), |bytes| {
        let (text, cut) = log_tail(&bytes);
        (Some(text), cut)
    });
    Run {
        name: page.code("run", name),
        scores,
        latency: latency_figures(page, run.latency.as_ref()),
        floor: latency_figures(page, run.floor.as_ref()),
        verdict: run
            .verdict
            .as_ref()
            .map(|verdict| verdict_text(page, verdict, run.latency.as_ref())),
        within_budget: run.verdict.as_ref().map(|v| v.within_budget),
        verdict_uncertain: run
            .verdict
            .as_ref()
            .and_then(|verdict| verdict.close_to_budget())
            .unwrap_or(false),
        resources: resource_figures(page, &run.resources),
        log_text: log,
        log_cut,
        histogram_svg: chart::histogram(&buckets, budget_ms, &axis, &page.text("board.budget")),
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

/// The latency at the verdict's percentile, from the run's summary.
fn at_percentile(summary: Option<&LatencySummary>, percentile: f64) -> Option<f64> {
    let s = summary?;
    Some(match percentile {
        p if p >= 99.9 => s.p999_ms,
        p if p >= 99.0 => s.p99_ms,
        p if p >= 95.0 => s.p95_ms,
        p if p >= 90.0 => s.p90_ms,
        _ => s.p50_ms,
    })
}

/// "Within budget: p90 12.3 ms against 20 ms; 3 of 1,000 queries over (at most 5 allowed)."
fn verdict_text(
    page: &PageContext,
    verdict: &BudgetVerdict,
    latency: Option<&LatencySummary>,
) -> String {
    let key = if verdict.within_budget {
        "report.verdict_within"
    } else {
        "report.verdict_over"
    };
    let measured = at_percentile(latency, verdict.percentile)
        .map_or_else(|| "—".to_owned(), |ms| format!("{} ms", decimal(ms)));
    let mut text = page
        .text(key)
        .replace("{percentile}", &decimal(verdict.percentile))
        .replace("{measured}", &measured)
        .replace("{budget}", &format!("{} ms", decimal(verdict.budget_ms)))
        .replace("{over}", &verdict.over_budget.to_string())
        .replace("{queries}", &verdict.queries.to_string());
    if let Some(allowed) = verdict.allowed_over_budget {
        text.push_str(
            &page
                .text("report.verdict_allowed")
                .replace("{allowed}", &allowed.to_string()),
        );
    }
    text
}

/// How the container ended and what it used, labelled in the page's language.
fn resource_figures(page: &PageContext, outcome: &RunOutcome) -> Vec<Figure> {
    let termination = match outcome.termination {
        Termination::Exited { code } => page
            .text("report.exited")
            .replace("{code}", &code.to_string()),
        Termination::WallClock => page.text("report.wall_clock"),
        Termination::OutOfMemory => page.text("report.out_of_memory"),
        Termination::Stopped => page.text("report.stopped"),
    };
    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    let mut figures = vec![
        figure(&page.text("report.termination"), termination),
        figure(
            &page.text("report.wall_seconds"),
            format!("{} s", decimal(outcome.wall_seconds)),
        ),
        figure(
            &page.text("report.cpu_seconds"),
            format!("{} s", decimal(outcome.cpu_seconds)),
        ),
        figure(
            &page.text("report.peak_memory"),
            mib(outcome.peak_memory_bytes),
        ),
        figure(
            &page.text("report.log_bytes"),
            if outcome.logs_truncated {
                format!(
                    "{} B ({})",
                    outcome.log_bytes,
                    page.text("report.truncated")
                )
            } else {
                format!("{} B", outcome.log_bytes)
            },
        ),
    ];
    if outcome.output_bytes > 0 {
        figures.push(figure(
            &page.text("report.output_bytes"),
            format!("{} B", outcome.output_bytes),
        ));
    }
    figures
}

/// The most of a log shown inline; the whole log stays downloadable.
const LOG_SHOWN: usize = 64 * 1024;

/// The last [`LOG_SHOWN`] bytes of a log as text, and whether it was cut.
fn log_tail(bytes: &[u8]) -> (String, bool) {
    let start = bytes.len().saturating_sub(LOG_SHOWN);
    (
        String::from_utf8_lossy(&bytes[start..]).into_owned(),
        start > 0,
    )
}

/// Where the run happened, as the report's environment lists it, and the image.
pub fn environment_of(page: &PageContext, report: &Report) -> Vec<Figure> {
    let env = &report.environment;
    [
        ("cpu_model", env.cpu_model.clone()),
        ("cores", env.cores.to_string()),
        ("kernel", env.kernel.clone()),
        ("harness_version", env.harness_version.clone()),
        ("split_seed", env.split_seed.to_string()),
        ("load_seed", env.load_seed.to_string()),
        ("image", report.image.clone()),
    ]
    .into_iter()
    .map(|(name, value)| figure(&page.code("environment", name), value))
    .collect()
}

/// One accelerator the evaluation held, as the report card's table shows it.
#[derive(Serialize)]
pub struct AcceleratorFigures {
    pub device: String,
    pub leased: String,
    pub busy: String,
    pub memory: String,
}

/// The accelerators the run held: leased seconds always; busy % (mean / max) and peak
/// memory where the vendor's tool reported them, else a dash and why.
pub fn accelerators_of(page: &PageContext, report: &Report) -> Vec<AcceleratorFigures> {
    let unknown = || page.text("submission.accel_unknown");
    let gib = |bytes: u64| format!("{:.2} GiB", bytes as f64 / f64::from(1u32 << 30));
    report
        .accelerators
        .iter()
        .map(|device| AcceleratorFigures {
            device: format!("{} ({})", device.id, device.model),
            leased: format!("{:.1} s", device.leased_seconds),
            busy: match (device.busy_mean_percent, device.busy_max_percent) {
                (Some(mean), Some(max)) => format!("{mean:.1} % / {max:.1} %"),
                _ => unknown(),
            },
            memory: match (device.memory_peak_bytes, device.memory_total_bytes) {
                (Some(peak), Some(total)) => format!("{} / {}", gib(peak), gib(total)),
                (Some(peak), None) => gib(peak),
                _ => unknown(),
            },
        })
        .collect()
}
