//! Serve mode: the submission is an Open Inference Protocol server. The harness checks its
//! readiness and metadata and warms it up; in the hidden run the accuracy pass then asks
//! every hidden item once (its answers are the score) and the timed run follows the load
//! pattern (latency and the verdict only). Readiness has the start-up limit; the rest
//! shares the run's limit, on the harness's own clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_sandboxes::{Mode, RunOutcome, RunSpec, RunningService, Sandbox, Termination};
use jiebang_scenarios::package::{Load, Record};

use crate::EvaluatorError;
use crate::harness::answer::first_output;
use crate::harness::connection::DEFAULT_RUN_ANSWER_BYTES;
use crate::harness::measure;
use crate::harness::metadata::MetadataFit;
use crate::harness::oip::{check_metadata, infer_path, wait_ready};
use crate::harness::quality::{MeasurementPolicy, MeasurementQuality};
use crate::harness::verdict::judge;
use crate::harness::{LatencySummary, LoadSpec, Pattern, RunResult, keep_nothing, run};
use crate::pipeline::accuracy::{accuracy_load, accuracy_pass, answered, answers};
use crate::pipeline::requests::{Bodies, answer_cap, bodies};
use crate::pipeline::scoring::{notes, split_scores};
use crate::pipeline::{
    Evaluation, Job, data_set, empty_scores, load_seed, new_report, spec, split_scores_all,
};
use crate::protocol::Stage;
use crate::protocol::report::RunReport;

/// Why the server's run ended early, if it did. In serve mode only the harness stops the
/// container, so a run past the container's own deadline was still stopped by the harness.
fn died_early(outcome: &mut RunOutcome) -> Option<String> {
    match outcome.termination {
        Termination::Stopped => None,
        Termination::WallClock => {
            outcome.termination = Termination::Stopped;
            None
        }
        ref other => Some(format!("the server {other} during the run")),
    }
}

/// What a served run sends once the server is ready and its metadata matches. Requests are
/// encoded before any timing: ahead of the run as the scenario declares its tensors, and
/// again once the metadata is read if the model names or shapes them otherwise (see
/// [`MetadataFit`]).
struct Plan<'a> {
    /// Untimed, answers dropped; never hidden inputs, so no answer can be cached.
    warm_up: &'a [Record],
    /// The items of the accuracy pass and the timed queries.
    queries: &'a [Record],
    /// Both, encoded as the scenario declares its tensors.
    encoded: &'a Bodies,
    /// The hidden run's accuracy pass: every item once, its answers the score.
    accuracy: Option<&'a LoadSpec>,
    /// The timed queries: latency and the verdict (the sample run also scores them).
    timed: &'a LoadSpec,
    /// What the report calls the timed queries.
    timed_name: &'static str,
}

struct ServeRun {
    /// The accuracy pass, if the plan had one and it got under way.
    accuracy: Option<RunResult>,
    /// The timed queries, if they got under way.
    timed: Option<RunResult>,
    outcome: RunOutcome,
    failure: Option<String>,
    /// The floor before the kept timed run, and how far that run can be trusted (measured
    /// runs only).
    floor: Option<LatencySummary>,
    quality: Option<MeasurementQuality>,
    /// How the model's metadata matched the scenario's tensors, for the report.
    warnings: Vec<crate::protocol::Note>,
}

impl ServeRun {
    /// A run that ended before any query was sent: not ready, or metadata that does not fit.
    fn ended_before_queries(outcome: RunOutcome, failure: String) -> Self {
        Self {
            accuracy: None,
            timed: None,
            outcome,
            failure: Some(failure),
            floor: None,
            quality: None,
            warnings: Vec::new(),
        }
    }
}

/// The time limit of one run, and the words the report uses for it.
pub(super) struct RunLimit {
    pub seconds: u64,
    pub name: &'static str,
    /// What the limit holds, for the report when it runs out.
    pub holds: &'static str,
}

/// Where and why a served run's queries stopped short.
struct Stop {
    step: &'static str,
    /// The run's limit ran out (rather than the step failing to start).
    limit_ran_out: bool,
    error: Option<String>,
    /// Where the accuracy pass was cut: the items answered and the items in the set.
    answered: Option<(usize, usize)>,
}

impl Stop {
    fn out_of_time(step: &'static str) -> Self {
        Self {
            step,
            limit_ran_out: true,
            error: None,
            answered: None,
        }
    }

    /// A step whose load did not start: the limit's doing when it had run out.
    fn failed(step: &'static str, error: &EvaluatorError, deadline: Instant) -> Self {
        Self {
            step,
            limit_ran_out: Instant::now() >= deadline,
            error: Some(error.to_string()),
            answered: None,
        }
    }

    fn describe(&self, limit: &RunLimit) -> String {
        let error = self.error.as_deref().unwrap_or("no answer");
        if !self.limit_ran_out {
            return format!("{} could not start: {error}", self.step);
        }
        let mut text = format!(
            "the {} time limit of {} s ({}) ran out during {}",
            limit.name, limit.seconds, limit.holds, self.step
        );
        match self.answered {
            Some((answered, items)) => text.push_str(&format!(
                " with {answered} of {items} hidden items answered; every item not answered \
                 counts as wrong, and the timed run did not start"
            )),
            None => text.push_str("; queries still out were cancelled and the server stopped"),
        }
        if let Some(error) = &self.error {
            text.push_str(&format!(" ({error})"));
        }
        text
    }
}

/// What the queries of a served run found, and where they stopped short if they did.
#[derive(Default)]
struct Steps {
    accuracy: Option<RunResult>,
    timed: Option<RunResult>,
    stop: Option<Stop>,
    floor: Option<LatencySummary>,
    quality: Option<MeasurementQuality>,
}

/// How a timed run is measured for interference: the policy, and the budget its floors are
/// judged against. Only the hidden run's timed run is.
#[derive(Clone, Copy)]
struct Measured<'a> {
    policy: &'a MeasurementPolicy,
    budget_ms: Option<f64>,
}

/// The timed run (MLPerf's performance mode): the scenario's load pattern until its minimum
/// duration and queries, cycling through `bodies`; its latency and verdict are reported,
/// and its answers kept only as `load` says (nothing, in the hidden run).
async fn timed_run(
    address: SocketAddr,
    path: &str,
    bodies: &[Bytes],
    load: &LoadSpec,
    deadline: Instant,
) -> Result<RunResult, EvaluatorError> {
    let load = LoadSpec {
        deadline: Some(deadline),
        ..load.clone()
    };
    run(address, path, bodies, &load).await
}

/// Warm-up, the accuracy pass and the timed queries, in that order, until `deadline`; a
/// step cut by the deadline or unable to start ends the run there. A `measured` timed run
/// is measured for interference and repeated while disturbed (see `harness::measure`),
/// the deadline moved on by the time the repeats took.
async fn run_steps(
    service: &RunningService,
    path: &str,
    plan: &Plan<'_>,
    bodies: &Bodies,
    deadline: Instant,
    measured: Option<Measured<'_>>,
) -> Steps {
    let mut steps = Steps::default();
    let (timed_bodies, timed_load) = (bodies.queries.as_slice(), plan.timed);
    if !bodies.warm_up.is_empty() {
        let warm = LoadSpec {
            pattern: Pattern::SingleStream,
            min_duration: Duration::ZERO,
            min_queries: bodies.warm_up.len() as u64,
            keep: keep_nothing,
            deadline: Some(deadline),
            ..timed_load.clone()
        };
        let cut = run(service.address, path, &bodies.warm_up, &warm)
            .await
            .is_ok_and(|r| r.cut_by_deadline);
        if cut {
            steps.stop = Some(Stop::out_of_time("the warm-up"));
            return steps;
        }
    }
    if let Some(load) = plan.accuracy {
        let items = &bodies.queries;
        match accuracy_pass(service.address, path, items, load, deadline).await {
            Ok(result) => {
                if result.cut_by_deadline {
                    steps.stop = Some(Stop {
                        answered: Some((answered(&result), items.len())),
                        ..Stop::out_of_time("the accuracy pass")
                    });
                }
                steps.accuracy = Some(result);
            }
            Err(error) => {
                steps.stop = Some(Stop::failed("the accuracy pass", &error, deadline));
            }
        }
        // A server that died during the pass is asked nothing more: its exit is the failure.
        if steps.stop.is_some() || !service.is_running().await {
            return steps;
        }
    }
    let (result, deadline) = match measured {
        Some(Measured { policy, budget_ms }) => {
            let cgroup = service.cgroup().await;
            let measured = measure::timed_run(
                policy,
                (&cgroup, budget_ms),
                timed_load.timeout,
                deadline,
                async |deadline| {
                    timed_run(service.address, path, timed_bodies, timed_load, deadline).await
                },
            )
            .await;
            (steps.floor, steps.quality) = (measured.floor, measured.quality);
            (measured.result, measured.deadline)
        }
        None => (
            timed_run(service.address, path, timed_bodies, timed_load, deadline).await,
            deadline,
        ),
    };
    match result {
        Ok(result) => {
            if result.cut_by_deadline {
                steps.stop = Some(Stop::out_of_time(plan.timed_name));
            }
            steps.timed = Some(result);
        }
        Err(error) => steps.stop = Some(Stop::failed(plan.timed_name, &error, deadline)),
    }
    steps
}

/// Starts the service, waits for readiness (within the start-up limit), then checks its
/// metadata and runs `plan`, all within `limit` from readiness; queries still out when it
/// runs out are cancelled. Stops the service.
async fn serve_run(
    sandbox: &Sandbox,
    (which, run_spec): (&str, &RunSpec),
    job: &Job<'_>,
    plan: &Plan<'_>,
    limit: &RunLimit,
    measured: Option<Measured<'_>>,
) -> Result<ServeRun, EvaluatorError> {
    let manifest = &job.package.manifest;
    let service = sandbox
        .start_service(run_spec)
        .await
        .map_err(EvaluatorError::in_run(which))?;
    let startup = Duration::from_secs(manifest.limits.startup_s);
    if !wait_ready(service.address, startup, || service.is_running()).await {
        let mut outcome = service.finish().await?;
        let failure = match died_early(&mut outcome) {
            None => format!(
                "the server was not ready within the start-up limit of {} s",
                startup.as_secs()
            ),
            Some(_) => format!("the server {} before it was ready", outcome.termination),
        };
        return Ok(ServeRun::ended_before_queries(outcome, failure));
    }
    let deadline = Instant::now() + Duration::from_secs(limit.seconds);
    let remaining = deadline.saturating_duration_since(Instant::now());
    let fit = match check_metadata(service.address, &manifest.task, remaining).await {
        Ok(fit) => fit,
        Err(mismatch) => {
            let mut outcome = service.finish().await?;
            let failure = died_early(&mut outcome).unwrap_or(mismatch);
            return Ok(ServeRun::ended_before_queries(outcome, failure));
        }
    };
    let reencoded;
    let bodies = if fit.inputs == MetadataFit::as_declared(&manifest.task).inputs {
        plan.encoded
    } else {
        match Bodies::encode((plan.warm_up, plan.queries), manifest, &fit.inputs) {
            Ok(bodies) => {
                reencoded = bodies;
                &reencoded
            }
            Err(error) => {
                service.finish().await?;
                return Err(error);
            }
        }
    };
    let path = infer_path(&manifest.task.model);
    let steps = run_steps(&service, &path, plan, bodies, deadline, measured).await;
    let mut outcome = service.finish().await?;
    let failure =
        died_early(&mut outcome).or_else(|| steps.stop.as_ref().map(|s| s.describe(limit)));
    Ok(ServeRun {
        accuracy: steps.accuracy,
        timed: steps.timed,
        outcome,
        failure,
        floor: steps.floor,
        quality: steps.quality,
        warnings: fit.warnings,
    })
}

/// How the model's metadata was matched goes into the report's notes once: the sample and
/// the hidden run read the same metadata.
fn add_warnings(notes: &mut Vec<crate::protocol::Note>, warnings: &[crate::protocol::Note]) {
    for warning in warnings {
        if !notes.contains(warning) {
            notes.push(warning.clone());
        }
    }
}

fn pattern_of(load: Load) -> Pattern {
    match load {
        Load::SingleStream => Pattern::SingleStream,
        Load::Server { rate_qps } => Pattern::Server { rate_qps },
        Load::Offline { concurrency } => Pattern::Offline {
            concurrency: concurrency as usize,
        },
    }
}

pub(super) async fn evaluate_serve(
    sandbox: &Sandbox,
    job: &Job<'_>,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Evaluation, EvaluatorError> {
    let manifest = &job.package.manifest;
    let root = &job.package.root;
    let (sample_records, sample_labels) = data_set(root, "public/samples")?;
    let (hidden_records, hidden_labels) = data_set(root, "hidden")?;
    let declared = MetadataFit::as_declared(&manifest.task).inputs;
    let sample_bodies = bodies(&sample_records, manifest, &declared)?;
    let hidden_bodies = bodies(&hidden_records, manifest, &declared)?;
    let timeout = manifest.query_timeout();
    let mut report = new_report(manifest, job.image);

    on_stage(Stage::SampleRun);
    let sample_spec = spec(
        job,
        "sample",
        Mode::Serve { port: 8080 },
        manifest.limits.startup_s + manifest.limits.sample_run_s,
        None,
    );
    // Every sample once, one at a time: scored and timed, for the team to debug with.
    let sample_load = LoadSpec {
        pattern: Pattern::SingleStream,
        min_duration: Duration::ZERO,
        min_queries: sample_records.len() as u64,
        timeout,
        seed: load_seed(manifest),
        max_answer_bytes: answer_cap(manifest),
        max_run_answer_bytes: DEFAULT_RUN_ANSWER_BYTES,
        keep: first_output,
        deadline: None,
    };
    let sample_limit = RunLimit {
        seconds: manifest.limits.sample_run_s,
        name: "sample run's",
        holds: "every sample once",
    };
    // Bytes are shared, not copied: both runs' plans hold the same encoded samples.
    let sample_encoded = Bodies {
        warm_up: Vec::new(),
        queries: sample_bodies.clone(),
    };
    let sample_plan = Plan {
        warm_up: &[],
        queries: &sample_records,
        encoded: &sample_encoded,
        accuracy: None,
        timed: &sample_load,
        timed_name: "the sample queries",
    };
    let sample = serve_run(
        sandbox,
        ("sample", &sample_spec),
        job,
        &sample_plan,
        &sample_limit,
        None,
    )
    .await?;
    add_warnings(&mut report.notes, &sample.warnings);
    let sample_logs = sample.outcome.logs.clone();
    let sample_scores = sample.timed.as_ref().map(|r| {
        let answers = answers(r, &sample_records);
        let scores = split_scores_all(manifest, &answers, &sample_labels);
        report
            .notes
            .extend(notes("sample run", manifest, &answers, &scores));
        scores
    });
    report.sample = Some(RunReport {
        scores: sample_scores.unwrap_or_else(|| empty_scores(manifest)),
        latency: sample.timed.as_ref().map(LatencySummary::of),
        verdict: None,
        floor: None,
        quality: None,
        resources: sample.outcome,
    });
    if let Some(failure) = sample.failure {
        report.failure = Some(format!("sample run: {failure}"));
        return Ok(Evaluation {
            report,
            sample_logs,
            hidden_logs: Vec::new(),
        });
    }

    on_stage(Stage::HiddenRun);
    let hidden_spec = spec(
        job,
        "hidden",
        Mode::Serve { port: 8080 },
        manifest.limits.startup_s + manifest.limits.hidden_run_s,
        None,
    );
    let accuracy = accuracy_load(manifest, hidden_records.len());
    // The timed run's answers are not scored: the accuracy pass has every item's.
    let timed = LoadSpec {
        pattern: pattern_of(manifest.latency.load),
        min_duration: Duration::from_secs(manifest.latency.min_duration_s),
        min_queries: manifest.latency.min_queries,
        timeout,
        seed: load_seed(manifest),
        max_answer_bytes: answer_cap(manifest),
        max_run_answer_bytes: DEFAULT_RUN_ANSWER_BYTES,
        keep: keep_nothing,
        deadline: None,
    };
    let hidden_limit = RunLimit {
        seconds: manifest.limits.hidden_run_s,
        name: "hidden run's",
        holds: "warm-up, accuracy pass and timed run together",
    };
    let hidden_encoded = Bodies {
        warm_up: sample_bodies,
        queries: hidden_bodies,
    };
    let hidden_plan = Plan {
        warm_up: &sample_records,
        queries: &hidden_records,
        encoded: &hidden_encoded,
        accuracy: Some(&accuracy),
        timed: &timed,
        timed_name: "the timed run",
    };
    let hidden = serve_run(
        sandbox,
        ("hidden", &hidden_spec),
        job,
        &hidden_plan,
        &hidden_limit,
        Some(Measured {
            policy: &job.measurement,
            budget_ms: manifest.latency.budget_ms,
        }),
    )
    .await?;
    on_stage(Stage::Scoring);
    add_warnings(&mut report.notes, &hidden.warnings);
    let hidden_logs = hidden.outcome.logs.clone();
    let scores = hidden
        .accuracy
        .as_ref()
        .map(|r| {
            let answers = answers(r, &hidden_records);
            let scores = split_scores(manifest, &answers, &hidden_labels);
            report
                .notes
                .extend(notes("hidden run", manifest, &answers, &scores));
            scores
        })
        .unwrap_or_else(|| empty_scores(manifest));
    let verdict = match (&hidden.timed, manifest.latency.budget_ms) {
        (Some(result), Some(budget)) => Some(judge(result, budget, manifest.latency.percentile())),
        _ => None,
    };
    report.failure = hidden.failure.map(|f| format!("hidden run: {f}"));
    report.hidden = Some(RunReport {
        scores,
        latency: hidden.timed.as_ref().map(LatencySummary::of),
        verdict,
        floor: hidden.floor,
        quality: hidden.quality,
        resources: hidden.outcome,
    });
    Ok(Evaluation {
        report,
        sample_logs,
        hidden_logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_that_runs_out_says_during_which_step_and_what_it_costs() {
        let limit = RunLimit {
            seconds: 30,
            name: "hidden run's",
            holds: "warm-up, accuracy pass and timed run together",
        };
        let cut_pass = Stop {
            answered: Some((3, 12)),
            ..Stop::out_of_time("the accuracy pass")
        };
        assert_eq!(
            cut_pass.describe(&limit),
            "the hidden run's time limit of 30 s (warm-up, accuracy pass and timed run \
             together) ran out during the accuracy pass with 3 of 12 hidden items answered; \
             every item not answered counts as wrong, and the timed run did not start"
        );
        assert!(
            Stop::out_of_time("the timed run")
                .describe(&limit)
                .ends_with("ran out during the timed run; queries still out were cancelled and the server stopped")
        );
        let refused = Stop {
            limit_ran_out: false,
            error: Some("connection refused".into()),
            ..Stop::out_of_time("the accuracy pass")
        };
        assert_eq!(
            refused.describe(&limit),
            "the accuracy pass could not start: connection refused"
        );
    }
}
