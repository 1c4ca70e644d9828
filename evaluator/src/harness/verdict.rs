//! The latency-budget verdict: the percentile within budget, confirmed by MLPerf's
//! early-stopping binomial test, with errors and time-outs counted as over budget; and a
//! confidence interval for the percentile, which says when the verdict is close to the
//! budget.

use serde::{Deserialize, Serialize};

use crate::harness::loadgen::{QueryOutcome, RunResult};

/// Confidence with which a passing run's tail is known to be within budget.
pub const CONFIDENCE: f64 = 0.99;

/// Whether a run stayed within its latency budget, and the figures that decide it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetVerdict {
    pub budget_ms: f64,
    /// The percentile the budget applies to (90 for single-stream, 99 for server).
    pub percentile: f64,
    pub queries: u64,
    /// Queries over budget, failed or timed out.
    pub over_budget: u64,
    /// The most over-budget queries a run of this length may have and still pass.
    pub allowed_over_budget: Option<u64>,
    pub within_budget: bool,
    /// Where the percentile truly lies, at [`INTERVAL_CONFIDENCE`]; reports written before
    /// it have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<PercentileInterval>,
}

impl BudgetVerdict {
    /// The budget lies inside the percentile's confidence interval: another run of the same
    /// image could well get the other verdict. `None` for reports without the interval.
    pub fn close_to_budget(&self) -> Option<bool> {
        self.interval.as_ref().map(|i| i.close_to_budget)
    }
}

/// Confidence of [`PercentileInterval`].
pub const INTERVAL_CONFIDENCE: f64 = 0.95;

/// A distribution-free confidence interval for the run's latency at the budget's
/// percentile: two order statistics of its latencies, whose ranks around `p·n` come from
/// the binomial distribution of how many queries fall below the true percentile. Failed
/// and timed-out queries rank above every answered one (they count as over budget).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentileInterval {
    /// Lower bound, ms; `None` when it is a failed or timed-out query (over any budget).
    pub low_ms: Option<f64>,
    /// Upper bound, ms; `None` when it is a failed or timed-out query, or the run is too
    /// short to bound the percentile from above.
    pub high_ms: Option<f64>,
    /// The budget lies inside the interval: the verdict is uncertain.
    pub close_to_budget: bool,
}

/// The 1-based ranks `(l, u)` among `n` sorted observations with P(x₍ₗ₎ ≤ ξ ≤ x₍ᵤ₎) ≥
/// [`INTERVAL_CONFIDENCE`] for the `percentile`'s true value ξ. `l` is 0 when no
/// observation bounds it from below, `u` is `n + 1` when none bounds it from above.
pub fn interval_ranks(n: u64, percentile: f64) -> (u64, u64) {
    let q = percentile / 100.0;
    let tail = (1.0 - INTERVAL_CONFIDENCE) / 2.0;
    if n == 0 || !(q > 0.0 && q < 1.0) {
        return (0, n + 1);
    }
    // X ~ Binomial(n, q) counts the observations below ξ; P(x₍ⱼ₎ ≤ ξ) = P(X ≥ j). The
    // lower rank is the largest l with P(X ≤ l − 1) ≤ tail, the upper the smallest u with
    // P(X ≤ u − 1) ≥ 1 − tail.
    let (ln_q, ln_p) = (q.ln(), (1.0 - q).ln());
    let mut ln_pmf = n as f64 * ln_p;
    let mut cdf = 0.0;
    let (mut low, mut high) = (0, n + 1);
    for k in 0..n {
        if k > 0 {
            ln_pmf += ((n - k + 1) as f64).ln() - (k as f64).ln() + ln_q - ln_p;
        }
        cdf += ln_pmf.exp();
        // cdf is now P(X ≤ k), which decides rank k + 1.
        if cdf <= tail {
            low = k + 1;
        }
        if cdf >= 1.0 - tail {
            high = k + 1;
            break;
        }
    }
    (low, high)
}

/// The interval from the run's latencies in ms (`None` for a failed or timed-out query).
pub fn percentile_interval(
    latencies_ms: &[Option<f64>],
    percentile: f64,
    budget_ms: f64,
) -> PercentileInterval {
    let mut sorted: Vec<f64> = latencies_ms
        .iter()
        .map(|l| l.unwrap_or(f64::INFINITY))
        .collect();
    sorted.sort_by(f64::total_cmp);
    let (low_rank, high_rank) = interval_ranks(sorted.len() as u64, percentile);
    let at = |rank: u64| {
        usize::try_from(rank)
            .ok()
            .and_then(|r| r.checked_sub(1))
            .and_then(|i| sorted.get(i).copied())
    };
    let low = if low_rank == 0 {
        0.0
    } else {
        at(low_rank).unwrap_or(f64::INFINITY)
    };
    let high = at(high_rank).unwrap_or(f64::INFINITY);
    PercentileInterval {
        low_ms: low.is_finite().then_some(low),
        high_ms: high.is_finite().then_some(high),
        close_to_budget: low <= budget_ms && budget_ms < high,
    }
}

/// The largest number of over-budget queries among `n` that still shows, with
/// [`CONFIDENCE`], that fewer than `1 - percentile` of all queries exceed the budget: the
/// largest k with P(X ≤ k) ≤ 1 − confidence for X ~ Binomial(n, 1 − percentile).
pub fn allowed_over_budget(n: u64, percentile: f64) -> Option<u64> {
    let p = 1.0 - percentile / 100.0;
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    // ln P(X = 0) = n ln q; then ln P(X = k) from ln P(X = k - 1) by the ratio of terms.
    let mut ln_pmf = n as f64 * ln_q;
    let mut cdf = 0.0;
    let mut allowed = None;
    for k in 0..=n {
        if k > 0 {
            ln_pmf += ((n - k + 1) as f64).ln() - (k as f64).ln() + ln_p - ln_q;
        }
        cdf += ln_pmf.exp();
        if cdf > 1.0 - CONFIDENCE {
            break;
        }
        allowed = Some(k);
    }
    allowed
}

pub fn judge(run: &RunResult, budget_ms: f64, percentile: f64) -> BudgetVerdict {
    let budget = std::time::Duration::from_secs_f64(budget_ms / 1000.0);
    let over_budget = run
        .records
        .iter()
        .filter(|r| {
            r.latency > budget || !matches!(r.outcome, QueryOutcome::Answered { status: 200, .. })
        })
        .count() as u64;
    let queries = run.records.len() as u64;
    let allowed = allowed_over_budget(queries, percentile);
    let latencies: Vec<Option<f64>> = run
        .records
        .iter()
        .map(|r| {
            matches!(r.outcome, QueryOutcome::Answered { status: 200, .. })
                .then(|| r.latency.as_secs_f64() * 1000.0)
        })
        .collect();
    BudgetVerdict {
        budget_ms,
        percentile,
        queries,
        over_budget,
        allowed_over_budget: allowed,
        within_budget: allowed.is_some_and(|allowed| over_budget <= allowed),
        interval: Some(percentile_interval(&latencies, percentile, budget_ms)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minimum_query_counts_match_mlperf() {
        // With no query over budget, p99 needs 459 queries and p90 needs 44.
        assert_eq!(allowed_over_budget(458, 99.0), None);
        assert_eq!(allowed_over_budget(459, 99.0), Some(0));
        assert_eq!(allowed_over_budget(43, 90.0), None);
        assert_eq!(allowed_over_budget(44, 90.0), Some(0));
    }

    /// P(X ≤ k) for X ~ Binomial(n, q), summed directly.
    fn binomial_cdf(n: u64, q: f64, k: u64) -> f64 {
        (0..=k)
            .map(|j| {
                let ln_choose: f64 = (1..=j).map(|i| ((n - j + i) as f64 / i as f64).ln()).sum();
                (ln_choose + j as f64 * q.ln() + (n - j) as f64 * (1.0 - q).ln()).exp()
            })
            .sum()
    }

    #[test]
    fn interval_ranks_cover_the_percentile_at_95_percent_and_no_more_than_needed() {
        for (n, percentile) in [
            (100, 90.0),
            (459, 99.0),
            (1000, 99.0),
            (44, 90.0),
            (5000, 90.0),
        ] {
            let q: f64 = percentile / 100.0;
            let (l, u) = interval_ranks(n, percentile);
            assert!(l >= 1 && u <= n, "{n} at p{percentile}: ({l}, {u})");
            let coverage = binomial_cdf(n, q, u - 1) - binomial_cdf(n, q, l - 1);
            assert!(coverage >= INTERVAL_CONFIDENCE, "{n}: {coverage}");
            // One rank narrower on either side would fall short of its tail.
            assert!(
                binomial_cdf(n, q, l) > 0.025,
                "{n}: lower rank could be higher"
            );
            assert!(
                binomial_cdf(n, q, u - 2) < 0.975,
                "{n}: upper rank could be lower"
            );
        }
        // The textbook case: the 90th percentile of 100 observations lies between the
        // 84th and the 96th (normal approximation 90 ± 1.96·3).
        assert_eq!(interval_ranks(100, 90.0), (84, 96));
        // Too few queries to bound a p99 from above.
        assert_eq!(interval_ranks(50, 99.0).1, 51);
    }

    #[test]
    fn a_budget_inside_the_interval_is_close_and_one_far_from_it_is_not() {
        // 1,000 queries from 1 to 10 ms in even steps: p90 ≈ 9 ms, known to about ±0.2 ms.
        let latencies: Vec<Option<f64>> = (1..=1000).map(|i| Some(f64::from(i) / 100.0)).collect();
        let close = percentile_interval(&latencies, 90.0, 9.0);
        assert!(close.close_to_budget, "{close:?}");
        let (low, high) = (close.low_ms.unwrap(), close.high_ms.unwrap());
        assert!(low < 9.0 && 9.0 < high && high - low < 0.5, "{close:?}");
        assert!(!percentile_interval(&latencies, 90.0, 20.0).close_to_budget);
        assert!(!percentile_interval(&latencies, 90.0, 5.0).close_to_budget);
        // Failures rank above everything: a run that fails one query in five has its p90
        // among the failures, over any budget, and that is no close call either.
        let failing: Vec<Option<f64>> = (0..1000).map(|i| (i % 5 != 0).then_some(1.0)).collect();
        let over = percentile_interval(&failing, 90.0, 20.0);
        assert_eq!(
            (over.low_ms, over.high_ms, over.close_to_budget),
            (None, None, false)
        );
        // A run too short to bound a p99 from above is close to any budget above its low end.
        let short: Vec<Option<f64>> = vec![Some(1.0); 50];
        let unsure = percentile_interval(&short, 99.0, 20.0);
        assert_eq!(unsure.high_ms, None);
        assert!(unsure.close_to_budget);
    }

    #[test]
    fn longer_runs_tolerate_a_few_slow_queries() {
        let allowed = allowed_over_budget(10_000, 99.0).unwrap_or(0);
        assert!((70..100).contains(&allowed), "allowed {allowed}");
    }
}
