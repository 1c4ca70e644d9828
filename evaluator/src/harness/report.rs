//! Latency percentiles and rates from a run's records (HDR histogram, 3 significant digits).

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::harness::loadgen::{QueryOutcome, RunResult};

/// The figures a report shows for one run; latencies in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
        }
    }
}
