//! A timed run measured for interference: the floor and the kernel's figures before and
//! after it, the judgement of whether other work on the node disturbed it, and repeats of
//! a disturbed run (with backoff) that never cost the submission its time limit.

use std::time::{Duration, Instant};

use jiebang_sandboxes::ContainerCgroup;

use crate::EvaluatorError;
use crate::harness::connection::{DEFAULT_MAX_ANSWER_BYTES, DEFAULT_RUN_ANSWER_BYTES};
use crate::harness::oip::{encode_request, infer_path};
use crate::harness::procfs::{Contention, Snapshot};
use crate::harness::quality::{MeasurementPolicy, MeasurementQuality};
use crate::harness::{
    LatencySummary, LoadSpec, Pattern, RunResult, keep_nothing, null_server, run,
};

/// Queries of a floor: enough for a p99 that is not one stray value (about 0.1 s).
const FLOOR_QUERIES: u64 = 1000;

/// The harness against its own null server: the floor reported beside a result.
pub async fn floor(timeout: Duration) -> Option<LatencySummary> {
    let server = null_server::null().await.ok()?;
    let body = encode_request("floor", &[]).ok()?;
    let spec = LoadSpec {
        pattern: Pattern::SingleStream,
        min_duration: Duration::ZERO,
        min_queries: FLOOR_QUERIES,
        timeout,
        seed: 0,
        max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        max_run_answer_bytes: DEFAULT_RUN_ANSWER_BYTES,
        keep: keep_nothing,
        deadline: None,
    };
    run(server.address, &infer_path("null"), &[body], &spec)
        .await
        .ok()
        .map(|r| LatencySummary::of(&r))
}

/// The kept timed run, how far it could be trusted, and the deadline it ran under (the
/// first one moved on by the time disturbed runs and their waits took).
pub struct TimedRun {
    pub result: Result<RunResult, EvaluatorError>,
    /// The floor just before the kept run.
    pub floor: Option<LatencySummary>,
    /// `None` when the load could not start.
    pub quality: Option<MeasurementQuality>,
    pub deadline: Instant,
}

/// Runs `timed` (given the deadline it must end by) once, or again while other work on the
/// node disturbs it, up to `policy.repeats` more times, waiting `policy.backoff` (doubled
/// each time) in between; the container's figures come from `container`, the floors are
/// judged against `budget_ms`. The time a disturbed run and its wait took is added to the
/// deadline and recorded in the kept run's quality (with the container's CPU time in it),
/// so neither the limit nor the charge counts it: it was not the submission's.
pub async fn timed_run(
    policy: &MeasurementPolicy,
    (container, budget_ms): (&ContainerCgroup, Option<f64>),
    floor_timeout: Duration,
    mut deadline: Instant,
    mut timed: impl AsyncFnMut(Instant) -> Result<RunResult, EvaluatorError>,
) -> TimedRun {
    let mut attempt = 1;
    // What the disturbed runs that were repeated took: time, and the container's CPU (unknown
    // once a run's was).
    let mut repeated = Duration::ZERO;
    let mut repeated_cpu = Some(Duration::ZERO);
    loop {
        let began = Instant::now();
        let floor_before = floor(floor_timeout).await;
        let before = Snapshot::take(container);
        let result = timed(deadline).await;
        let after = Snapshot::take(container);
        let floor_after = floor(floor_timeout).await;
        let Ok(run) = &result else {
            return TimedRun {
                result,
                floor: floor_before,
                quality: None,
                deadline,
            };
        };
        let contention = Contention::between(&before, &after);
        let mut quality = MeasurementQuality::of(
            run,
            &contention,
            floor_before.as_ref(),
            floor_after.as_ref(),
        );
        quality.attempts = attempt;
        if attempt > 1 {
            quality.repeated_seconds = Some(repeated.as_secs_f64());
            quality.repeated_cpu_seconds = repeated_cpu.map(|cpu| cpu.as_secs_f64());
        }
        quality.disturbances = policy.thresholds.judge(&quality, budget_ms);
        if !quality.disturbed() || attempt > policy.repeats {
            return TimedRun {
                result,
                floor: floor_before,
                quality: Some(quality),
                deadline,
            };
        }
        let wait = policy.backoff.saturating_mul(1 << (attempt - 1).min(16));
        let reasons: Vec<String> = quality.disturbances.iter().map(|d| d.to_string()).collect();
        tracing::info!(
            attempt,
            wait_seconds = wait.as_secs_f64(),
            disturbed_by = reasons.join("; "),
            "the timed run was disturbed by other work on the node; repeating it"
        );
        tokio::time::sleep(wait).await;
        let took = began.elapsed();
        deadline += took;
        repeated += took;
        repeated_cpu = repeated_cpu
            .zip(contention.container_cpu)
            .map(|(sum, cpu)| sum + cpu);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::harness::quality::Thresholds;

    fn empty_run() -> RunResult {
        RunResult {
            records: Vec::new(),
            duration: Duration::from_millis(1),
            connections_opened: 1,
            cut_by_deadline: false,
        }
    }

    #[tokio::test]
    async fn a_disturbed_run_is_repeated_a_bounded_number_of_times_with_more_time() {
        // Every run counts as disturbed: a floor drift of more than 1 always exists.
        let policy = MeasurementPolicy {
            thresholds: Thresholds {
                max_floor_drift: 1.0 - f64::EPSILON,
                ..Thresholds::default()
            },
            repeats: 2,
            backoff: Duration::from_millis(20),
        };
        let first = Instant::now() + Duration::from_secs(60);
        let mut deadlines = Vec::new();
        let timed = timed_run(
            &policy,
            (&ContainerCgroup::default(), None),
            Duration::from_secs(1),
            first,
            async |deadline| {
                deadlines.push(deadline);
                Ok(empty_run())
            },
        )
        .await;
        let quality = timed.quality.unwrap();
        assert_eq!(quality.attempts, 3);
        assert!(quality.disturbed());
        assert_eq!(deadlines.len(), 3);
        // Each repeat gets the time the disturbed run and its wait (20, then 40 ms) took.
        assert!(deadlines[1] >= first + Duration::from_millis(20));
        assert!(deadlines[2] >= deadlines[1] + Duration::from_millis(40));
        assert_eq!(timed.deadline, deadlines[2]);
        assert!(timed.floor.is_some());
        // What the two repeated runs took is recorded, to be left out of the charge.
        let repeated = quality.repeated_seconds.unwrap();
        assert!(repeated >= 0.06, "{repeated}");
        assert_eq!(repeated, (timed.deadline - first).as_secs_f64());
    }

    #[tokio::test]
    async fn a_quiet_run_is_kept_at_once() {
        let policy = MeasurementPolicy {
            thresholds: Thresholds::off(),
            ..MeasurementPolicy::default()
        };
        let mut runs = 0;
        let timed = timed_run(
            &policy,
            (&ContainerCgroup::default(), Some(20.0)),
            Duration::from_secs(1),
            Instant::now(),
            async |_| {
                runs += 1;
                Ok(empty_run())
            },
        )
        .await;
        let quality = timed.quality.unwrap();
        assert_eq!((runs, quality.attempts), (1, 1));
        assert_eq!(
            quality.repeated_seconds, None,
            "nothing repeated, nothing left out"
        );
        assert!(quality.floor_before.is_some() && quality.floor_after.is_some());
    }
}
