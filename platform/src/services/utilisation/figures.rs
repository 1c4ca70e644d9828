//! The operator's utilisation figures over the last day, week or month: busy % per node
//! and per device model (the leased share where no tool reports busy), queue waits,
//! evaluations per hour and device-hours per town and per scenario.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::models::usage_samples::{self, UsageSample};
use crate::db::models::{results, submissions, workers};
use crate::error::AppError;

const HOUR_MS: i64 = 3_600_000;

/// The seed's compute centre ran under this load: the charts draw it as a reference.
pub const SEED_REFERENCE_PERCENT: f64 = 50.0;

/// How far back the figures look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Range {
    #[default]
    Day,
    Week,
    Month,
}

impl Range {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The window and the width of one bar: a day by hours, a week by six hours, a month
    /// (30 days) by days.
    pub fn window_and_bucket_ms(self) -> (i64, i64) {
        match self {
            Self::Day => (24 * HOUR_MS, HOUR_MS),
            Self::Week => (7 * 24 * HOUR_MS, 6 * HOUR_MS),
            Self::Month => (30 * 24 * HOUR_MS, 24 * HOUR_MS),
        }
    }
}

/// Busy % of one node or one device model, bucket by bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The node's name or the model.
    pub key: String,
    /// Devices counted: each bucket's capacity is devices × the bucket's seconds.
    pub devices: usize,
    /// Whether some vendor tool reported busy %; where none did the figure is the share of
    /// the time the devices were leased.
    pub measured: bool,
    /// One figure per bucket, 0–100.
    pub percent: Vec<f64>,
    /// Over the whole window.
    pub mean_percent: f64,
}

/// Everything the utilisation page and its CSV show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub range: Range,
    pub since_ms: i64,
    pub until_ms: i64,
    pub bucket_ms: i64,
    /// The start of each bucket (ms).
    pub buckets: Vec<i64>,
    pub by_node: Vec<Series>,
    pub by_model: Vec<Series>,
    /// How long evaluations that started in the window waited for a worker (s).
    pub wait_p50_seconds: Option<f64>,
    pub wait_p95_seconds: Option<f64>,
    pub waits: usize,
    /// Finished evaluations per hour, bucket by bucket, and how many in all.
    pub evaluations_per_hour: Vec<f64>,
    pub evaluations: usize,
    /// Device-hours leased, largest first.
    pub device_hours_by_town: Vec<(String, f64)>,
    pub device_hours_by_scenario: Vec<(String, f64)>,
}

/// The nearest-rank percentile of `values` (sorted here).
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    values.get(rank.min(values.len()) - 1).copied()
}

/// The seconds of a row that count as busy: measured busy % of the leased time where a tool
/// reported it, else the whole leased time.
fn used_seconds(row: &UsageSample) -> f64 {
    row.busy_percent
        .map_or(row.leased_seconds, |busy| busy / 100.0 * row.leased_seconds)
}

/// Busy % per bucket for each key `key_of` gives, over `devices` (key → device ids).
fn series_of(
    rows: &[UsageSample],
    devices: &BTreeMap<String, BTreeSet<(String, String)>>,
    key_of: impl Fn(&UsageSample) -> String,
    buckets: &[i64],
    bucket_ms: i64,
) -> Vec<Series> {
    let mut out = Vec::new();
    for (key, ids) in devices {
        let mut used = vec![0.0; buckets.len()];
        let mut measured = false;
        for row in rows.iter().filter(|r| &key_of(r) == key) {
            let Some(first) = buckets.first() else {
                continue;
            };
            let index = usize::try_from((row.period_start - first).div_euclid(bucket_ms)).ok();
            if let Some(slot) = index.and_then(|i| used.get_mut(i)) {
                *slot += used_seconds(row);
                measured |= row.busy_percent.is_some();
            }
        }
        let capacity = ids.len() as f64 * bucket_ms as f64 / 1000.0;
        let percent: Vec<f64> = used
            .iter()
            .map(|u| (u / capacity * 100.0).clamp(0.0, 100.0))
            .collect();
        let mean_percent = if percent.is_empty() {
            0.0
        } else {
            percent.iter().sum::<f64>() / percent.len() as f64
        };
        out.push(Series {
            key: key.clone(),
            devices: ids.len(),
            measured,
            percent,
            mean_percent,
        });
    }
    out
}

/// Sums `rows`' leased device-hours by `key_of`, largest first.
fn device_hours(rows: &[UsageSample], key_of: impl Fn(&UsageSample) -> &str) -> Vec<(String, f64)> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for row in rows {
        *sums.entry(key_of(row).to_owned()).or_insert(0.0) += row.leased_seconds / 3600.0;
    }
    let mut out: Vec<(String, f64)> = sums.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The figures for the `range` ending at `now` (ms); buckets end at the next whole hour.
pub fn figures(conn: &mut DbConnection, range: Range, now: i64) -> Result<Figures, AppError> {
    let (window, bucket_ms) = range.window_and_bucket_ms();
    let until = (now.div_euclid(HOUR_MS) + 1) * HOUR_MS;
    let since = until - window;
    let buckets: Vec<i64> = (0..window / bucket_ms)
        .map(|i| since + i * bucket_ms)
        .collect();
    let rows = usage_samples::between(conn, since, until)?;

    // The devices of each node and model: every registered worker's inventory, and any
    // device the series names (a worker since gone still held its devices then).
    let mut by_node: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut by_model: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for worker in workers::seen_since(conn, since, None)? {
        for device in worker.devices()? {
            let id = (worker.id.0.clone(), device.id.clone());
            by_node
                .entry(worker.name.clone())
                .or_default()
                .insert(id.clone());
            by_model.entry(device.model.clone()).or_default().insert(id);
        }
    }
    for row in &rows {
        let id = (row.worker_id.clone(), row.device_id.clone());
        by_node
            .entry(row.node.clone())
            .or_default()
            .insert(id.clone());
        by_model.entry(row.model.clone()).or_default().insert(id);
    }

    let mut waits: Vec<f64> = submissions::queue_waits_since(conn, since)?
        .into_iter()
        .map(|ms| ms as f64 / 1000.0)
        .collect();
    let finished = results::finished_since(conn, since)?;
    let bucket_hours = bucket_ms as f64 / HOUR_MS as f64;
    let mut evaluations_per_hour = vec![0.0; buckets.len()];
    for result in &finished {
        let index = usize::try_from((result.finished_at - since).div_euclid(bucket_ms)).ok();
        if let Some(slot) = index.and_then(|i| evaluations_per_hour.get_mut(i)) {
            *slot += 1.0 / bucket_hours;
        }
    }
    Ok(Figures {
        range,
        since_ms: since,
        until_ms: until,
        bucket_ms,
        by_node: series_of(&rows, &by_node, |r| r.node.clone(), &buckets, bucket_ms),
        by_model: series_of(&rows, &by_model, |r| r.model.clone(), &buckets, bucket_ms),
        wait_p50_seconds: percentile(&mut waits, 50.0),
        wait_p95_seconds: percentile(&mut waits, 95.0),
        waits: waits.len(),
        evaluations_per_hour,
        evaluations: finished.iter().filter(|r| r.finished_at < until).count(),
        device_hours_by_town: device_hours(&rows, |r| &r.town),
        device_hours_by_scenario: device_hours(&rows, |r| &r.scenario_id),
        buckets,
    })
}

/// The figures as CSV: one line per figure (`kind,key,period_start,value,unit`).
pub fn csv(figures: &Figures) -> String {
    let mut out = String::from("kind,key,period_start,value,unit\n");
    let field = |text: &str| {
        if text.contains([',', '"', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_owned()
        }
    };
    let mut line = |kind: &str, key: &str, at: Option<i64>, value: f64, unit: &str| {
        let at = at.map(crate::time::iso_time).unwrap_or_default();
        out.push_str(&format!("{kind},{},{at},{value:.4},{unit}\n", field(key)));
    };
    for (kind, series) in [("node", &figures.by_node), ("model", &figures.by_model)] {
        for s in series {
            let unit = if s.measured {
                "busy_percent"
            } else {
                "leased_percent"
            };
            for (at, percent) in figures.buckets.iter().zip(&s.percent) {
                line(kind, &s.key, Some(*at), *percent, unit);
            }
        }
    }
    for (at, rate) in figures.buckets.iter().zip(&figures.evaluations_per_hour) {
        line("evaluations", "", Some(*at), *rate, "per_hour");
    }
    for (p, value) in [
        ("p50", figures.wait_p50_seconds),
        ("p95", figures.wait_p95_seconds),
    ] {
        if let Some(value) = value {
            line("queue_wait", p, None, value, "seconds");
        }
    }
    for (town, hours) in &figures.device_hours_by_town {
        line("town", town, None, *hours, "device_hours");
    }
    for (scenario, hours) in &figures.device_hours_by_scenario {
        line("scenario", scenario, None, *hours, "device_hours");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut waits = vec![10.0, 1.0, 4.0, 3.0, 2.0];
        assert_eq!(percentile(&mut waits, 50.0), Some(3.0));
        assert_eq!(percentile(&mut waits, 95.0), Some(10.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }
}
