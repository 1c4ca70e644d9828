//! The latency-budget verdict: the percentile within budget, confirmed by MLPerf's
//! early-stopping binomial test, with errors and time-outs counted as over budget.

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
    BudgetVerdict {
        budget_ms,
        percentile,
        queries,
        over_budget,
        allowed_over_budget: allowed,
        within_budget: allowed.is_some_and(|allowed| over_budget <= allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_query_counts_match_mlperf() {
        // With no query over budget, p99 needs 459 queries and p90 needs 44.
        assert_eq!(allowed_over_budget(458, 99.0), None);
        assert_eq!(allowed_over_budget(459, 99.0), Some(0));
        assert_eq!(allowed_over_budget(43, 90.0), None);
        assert_eq!(allowed_over_budget(44, 90.0), Some(0));
    }

    #[test]
    fn longer_runs_tolerate_a_few_slow_queries() {
        let allowed = allowed_over_budget(10_000, 99.0).unwrap_or(0);
        assert!((70..100).contains(&allowed), "allowed {allowed}");
    }
}
