//! The operator's utilisation page: busy % per node and per device model over the last
//! day, week or month against the seed's 50 %, queue waits, evaluations per hour and
//! device-hours per town and per scenario; and the same figures as CSV.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::csv_download;
use crate::auth::OperatorOrAdmin;
use crate::db::now_millis;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::utilisation_chart::{bars, busy_lines, colour};
use crate::services::utilisation::figures::{
    Figures, Range, SEED_REFERENCE_PERCENT, Series, figures,
};

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    #[serde(default)]
    pub range: Range,
}

#[derive(Serialize)]
struct LegendRow {
    colour: &'static str,
    key: String,
    devices: usize,
    mean: String,
    /// "busy" where a tool reported it, "leased share" where none did.
    source: String,
}

#[derive(Serialize)]
struct Chart {
    svg: String,
    legend: Vec<LegendRow>,
}

#[derive(Serialize)]
struct RangeLink {
    href: String,
    name: String,
    current: bool,
}

#[derive(Serialize)]
struct UtilisationPage {
    ranges: Vec<RangeLink>,
    range: String,
    csv: String,
    by_node: Option<Chart>,
    by_model: Option<Chart>,
    evaluations: String,
    evaluations_total: usize,
    wait_p50: String,
    wait_p95: String,
    waits: usize,
    by_town: Vec<(String, String)>,
    by_scenario: Vec<(String, String)>,
}

/// Each bucket's start as people in the towns read it, as short as the range allows.
fn labels(figures: &Figures) -> Vec<String> {
    let format = match figures.range {
        Range::Day => "%H:%M",
        Range::Week => "%m-%d %H:%M",
        Range::Month => "%m-%d",
    };
    figures
        .buckets
        .iter()
        .map(|at| {
            chrono::DateTime::from_timestamp_millis(*at)
                .unwrap_or_default()
                .with_timezone(&crate::time::beijing())
                .format(format)
                .to_string()
        })
        .collect()
}

fn chart(
    page: &PageContext,
    id: &str,
    title: &str,
    series: &[Series],
    labels: &[String],
) -> Option<Chart> {
    if series.is_empty() {
        return None;
    }
    let values: Vec<Vec<f64>> = series.iter().map(|s| s.percent.clone()).collect();
    let reference = page
        .text("utilisation.reference")
        .replace("{percent}", &format!("{SEED_REFERENCE_PERCENT:.0}"));
    Some(Chart {
        svg: busy_lines(
            id,
            title,
            &values,
            labels,
            SEED_REFERENCE_PERCENT,
            &reference,
        ),
        legend: series
            .iter()
            .enumerate()
            .map(|(index, s)| LegendRow {
                colour: colour(index),
                key: s.key.clone(),
                devices: s.devices,
                mean: format!("{:.1} %", s.mean_percent),
                source: page.text(if s.measured {
                    "utilisation.source_busy"
                } else {
                    "utilisation.source_leased"
                }),
            })
            .collect(),
    })
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |s| format!("{s:.1} s"))
}

async fn figures_now(page: &PageContext, range: Range) -> Result<Figures, AppError> {
    page.state
        .db
        .read(move |conn| figures(conn, range, now_millis()))
        .await
}

/// `GET /console/operator/utilisation?range=day|week|month`
pub async fn utilisation(
    page: PageContext,
    _caller: OperatorOrAdmin,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let range = query.range;
    let figures = figures_now(&page, range).await?;
    let labels = labels(&figures);
    let hours = |rows: &[(String, f64)]| -> Vec<(String, String)> {
        rows.iter()
            .map(|(key, hours)| (key.clone(), format!("{hours:.2}")))
            .collect()
    };
    let view = UtilisationPage {
        ranges: [Range::Day, Range::Week, Range::Month]
            .into_iter()
            .map(|r| RangeLink {
                href: format!("/console/operator/utilisation?range={}", r.as_str()),
                name: page.text(&format!("utilisation.range_{}", r.as_str())),
                current: r == range,
            })
            .collect(),
        range: page.text(&format!("utilisation.range_{}", range.as_str())),
        csv: format!("/console/operator/utilisation.csv?range={}", range.as_str()),
        by_node: chart(
            &page,
            "busy-by-node",
            &page.text("utilisation.by_node"),
            &figures.by_node,
            &labels,
        ),
        by_model: chart(
            &page,
            "busy-by-model",
            &page.text("utilisation.by_model"),
            &figures.by_model,
            &labels,
        ),
        evaluations: bars(
            "evaluations-per-hour",
            &page.text("utilisation.evaluations"),
            &figures.evaluations_per_hour,
            &labels,
        ),
        evaluations_total: figures.evaluations,
        wait_p50: seconds(figures.wait_p50_seconds),
        wait_p95: seconds(figures.wait_p95_seconds),
        waits: figures.waits,
        by_town: hours(&figures.device_hours_by_town),
        by_scenario: hours(&figures.device_hours_by_scenario),
    };
    let title = page.text("utilisation.title");
    page.render("console/utilisation", &title, view).await
}

/// `GET /console/operator/utilisation.csv?range=day|week|month`
pub async fn utilisation_csv(
    page: PageContext,
    _caller: OperatorOrAdmin,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let range = query.range;
    let figures = figures_now(&page, range).await?;
    Ok(csv_download(
        &format!("utilisation-{}.csv", range.as_str()),
        crate::services::utilisation::figures::csv(&figures),
    ))
}
