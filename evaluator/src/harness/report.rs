//! Latency percentiles and rates from a run's records (HDR histogram, 3 significant digits).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::harness::loadgen::{QueryOutcome, RunResult};

/// The figures a report shows for one run; latencies in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub queries: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub achieved_qps: f64,
    pub duration_s: f64,
    /// The latency distribution as about 30 log-scale buckets (upper bound and count),
    /// for the report's histogram. Reports written before it existed have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<Bucket>,
}

/// Queries whose latency was above the previous bucket's bound and at most `le_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub le_ms: f64,
    pub count: u64,
}

/// The most buckets [`buckets_of`] returns.
pub const MAX_BUCKETS: usize = 30;

/// Log-scale buckets from the lowest to the highest recorded value: each bound the
/// previous times a constant factor (at least √2, more when the range is wide), so any
/// range fits in [`MAX_BUCKETS`]. Values are in microseconds, bounds given in ms.
pub fn buckets_of(histogram: &Histogram<u64>) -> Vec<Bucket> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let low = histogram.min().max(1) as f64;
    let high = histogram.max().max(1) as f64;
    let steps = MAX_BUCKETS as f64 - 1.0;
    let factor = (high / low).powf(1.0 / steps).max(std::f64::consts::SQRT_2);
    let mut buckets = Vec::new();
    let mut bound = low;
    let mut below = 0u64;
    while buckets.len() < MAX_BUCKETS {
        let last = bound >= high || buckets.len() + 1 == MAX_BUCKETS;
        let upper = if last { high } else { bound };
        let total = histogram.count_between(0, upper as u64);
        buckets.push(Bucket {
            le_ms: upper / 1000.0,
            count: total - below,
        });
        below = total;
        if last {
            break;
        }
        bound *= factor;
    }
    buckets
}

impl LatencySummary {
    #[expect(
        clippy::expect_used,
        reason = "the histogram's bounds are constants known to be valid"
    )]
    pub fn of(run: &RunResult) -> Self {
        // Microsecond resolution up to an hour; out-of-range values are clamped, not lost.
        let mut histogram =
            Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
        let (mut errors, mut timeouts) = (0, 0);
        for record in &run.records {
            let micros = u64::try_from(record.latency.as_micros())
                .unwrap_or(u64::MAX)
                .max(1);
            histogram.saturating_record(micros);
            match record.outcome {
                QueryOutcome::Failed(_) => errors += 1,
                QueryOutcome::TimedOut => timeouts += 1,
                QueryOutcome::Answered { .. } => {}
            }
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        let duration_s = run.duration.as_secs_f64();
        Self {
            queries: histogram.len(),
            errors,
            timeouts,
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p95_ms: ms(histogram.value_at_quantile(0.95)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
            mean_ms: histogram.mean() / 1000.0,
            achieved_qps: if duration_s > 0.0 {
                run.records.len() as f64 / duration_s
            } else {
                0.0
            },
            duration_s,
            buckets: buckets_of(&histogram),
        }
    }
}

#[cfg(test)]
mod bucket_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn buckets_cover_every_query_in_at_most_thirty_log_steps() {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for micros in [40u64, 41, 55, 80, 120, 900, 5_000, 250_000] {
            histogram.record(micros).unwrap();
        }
        let buckets = buckets_of(&histogram);
        assert!(
            buckets.len() <= MAX_BUCKETS && buckets.len() > 5,
            "{buckets:?}"
        );
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 8);
        assert!(buckets.windows(2).all(|w| w[0].le_ms < w[1].le_ms));
        let last = buckets.last().unwrap();
        assert!((last.le_ms - 250.0).abs() / 250.0 < 0.01, "{last:?}");
        // Log scale: the ratio of successive bounds is constant (apart from the last).
        let ratio = buckets[1].le_ms / buckets[0].le_ms;
        assert!((buckets[2].le_ms / buckets[1].le_ms - ratio).abs() < 1e-6);
    }

    #[test]
    fn no_queries_no_buckets_and_old_reports_leave_them_out() {
        let histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        assert!(buckets_of(&histogram).is_empty());
        let summary = LatencySummary {
            queries: 0,
            errors: 0,
            timeouts: 0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p95_ms: 0.0,
            p99_ms: 0.0,
            p999_ms: 0.0,
            max_ms: 0.0,
            mean_ms: 0.0,
            achieved_qps: 0.0,
            duration_s: 0.0,
            buckets: Vec::new(),
        };
        let json = serde_json::to_value(&summary).unwrap();
        assert!(json.get("buckets").is_none(), "{json}");
    }
}
