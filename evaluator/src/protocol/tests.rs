#![allow(clippy::unwrap_used)]

use jiebang_scenarios::package::MetricName;
use serde_json::json;

use super::report::{
    Bucket, BudgetVerdict, Disturbance, Environment, Figure, FloorFigures, LatencySummary,
    MeasurementQuality, Report, RunOutcome, RunReport, Score, SendLateness, SplitScores,
    Termination,
};
use super::utilisation::{DeviceUse, UsageMinute};
use super::*;

fn latency(p50: f64) -> LatencySummary {
    LatencySummary {
        queries: 480,
        errors: 1,
        timeouts: 0,
        p50_ms: p50,
        p90_ms: p50 * 2.0,
        p95_ms: p50 * 2.5,
        p99_ms: p50 * 4.0,
        p999_ms: p50 * 6.0,
        max_ms: p50 * 8.0,
        mean_ms: p50 * 1.25,
        achieved_qps: 96.5,
        duration_s: 5.0,
        buckets: vec![
            Bucket {
                le_ms: 0.5,
                count: 400,
            },
            Bucket {
                le_ms: 2.0,
                count: 80,
            },
        ],
    }
}

fn score(value: f64) -> Option<Score> {
    Some(Score {
        value,
        low: value - 0.125,
        high: value + 0.05,
        items: 12,
        items_in_set: 12,
    })
}

fn resources(termination: Termination) -> RunOutcome {
    RunOutcome {
        termination,
        wall_seconds: 6.5,
        cpu_seconds: 1.25,
        peak_memory_bytes: 64 << 20,
        throttled_periods: 3,
        throttled_seconds: 0.25,
        logs: Vec::new(),
        log_bytes: 120,
        logs_truncated: false,
        output_bytes: 0,
    }
}

/// A measurement-quality section with every figure, of a run repeated once.
fn quality() -> MeasurementQuality {
    MeasurementQuality {
        send_lateness: Some(SendLateness {
            p50_us: 6.5,
            p99_us: 31.25,
            max_us: 412.0,
            queries: 480,
        }),
        host_pressure_some: Some(0.0625),
        host_pressure_full: Some(0.0),
        host_pressure_outside: Some(0.03125),
        container_pressure_some: Some(0.03125),
        container_pressure_full: Some(0.0),
        container_wait: Some(0.04),
        steal: Some(0.0),
        throttled_periods: Some(3),
        throttled_seconds: Some(0.25),
        floor_before: Some(FloorFigures {
            p50_ms: 0.0625,
            p99_ms: 0.125,
        }),
        floor_after: Some(FloorFigures {
            p50_ms: 0.0625,
            p99_ms: 0.1875,
        }),
        attempts: 2,
        repeated_seconds: Some(12.625),
        repeated_cpu_seconds: Some(0.5),
        disturbances: Vec::new(),
    }
}

/// A report as the evaluator writes one, every part filled in.
fn full_report() -> Report {
    Report {
        scenario_id: "kg-parcel-eta".into(),
        image: "sha256:0123".into(),
        sample: Some(RunReport {
            scores: SplitScores {
                metric: MetricName::Accuracy,
                public: None,
                private: None,
                all: score(1.0),
                items: None,
            },
            latency: Some(latency(0.25)),
            verdict: None,
            floor: None,
            quality: None,
            resources: resources(Termination::Stopped),
        }),
        hidden: Some(RunReport {
            scores: SplitScores {
                metric: MetricName::Accuracy,
                public: score(0.875),
                private: score(0.75),
                all: score(0.8125),
                items: None,
            },
            latency: Some(latency(0.5)),
            verdict: Some(BudgetVerdict {
                budget_ms: 20.0,
                percentile: 99.0,
                queries: 480,
                over_budget: 1,
                allowed_over_budget: Some(1),
                within_budget: true,
                interval: None,
            }),
            floor: Some(latency(0.0625)),
            quality: Some(quality()),
            resources: resources(Termination::Exited { code: 0 }),
        }),
        failure: None,
        notes: vec![crate::protocol::Note::Text(
            "hidden run: 1 of 12 predictions were not numbers".into(),
        )],
        environment: Environment {
            cpu_model: "AMD EPYC".into(),
            cores: 2,
            kernel: "6.8.0".into(),
            harness_version: "0.1.0".into(),
            split_seed: 7,
            load_seed: 11,
        },
        device_seconds: 12.5,
        devices: vec!["0".into()],
        accelerators: vec![DeviceUse {
            id: "0".into(),
            model: "MLU370".into(),
            leased_seconds: 12.5,
            busy_mean_percent: Some(41.5),
            busy_max_percent: Some(77.0),
            memory_peak_bytes: Some(3 << 30),
            memory_total_bytes: Some(24 << 30),
            samples: 3,
        }],
        utilisation: vec![UsageMinute {
            device_id: "0".into(),
            model: "MLU370".into(),
            minute_start_ms: 1_764_547_200_000,
            leased_seconds: 12.5,
            busy_percent: Some(41.5),
            busy_samples: 2,
            memory_peak_bytes: Some(3 << 30),
        }],
    }
}

#[test]
fn a_report_reads_back_equal_to_what_the_evaluator_wrote() {
    let report = full_report();
    let written = serde_json::to_string(&report).unwrap();
    let read: Report = serde_json::from_str(&written).unwrap();
    assert_eq!(read, report);
    assert_eq!(read.budget_latency_ms(), Some(2.0), "p99 for a p99 budget");
}

/// A hidden run as reports stored before device metering, throttling counters, latency
/// buckets and per-item scoring have it: the figures added since are missing and the
/// scores count `queries`.
const OLDER_REPORT: &str = r#"{
  "scenario_id": "kg-parcel-eta",
  "image": "sha256:0123",
  "sample": null,
  "hidden": {
    "scores": {"metric": "macro_f1",
               "public": {"value": 0.9, "low": 0.8, "high": 0.95, "queries": 300},
               "private": null, "all": null},
    "latency": {"queries": 300, "errors": 0, "timeouts": 0, "p50_ms": 1.5, "p90_ms": 2.5,
                "p95_ms": 3.0, "p99_ms": 4.0, "p999_ms": 5.0, "max_ms": 6.0,
                "mean_ms": 1.75, "achieved_qps": 60.0, "duration_s": 5.0},
    "verdict": null,
    "floor": null,
    "resources": {"termination": {"kind": "stopped"}, "wall_seconds": 7.0,
                  "cpu_seconds": 2.0, "peak_memory_bytes": 1000, "log_bytes": 10,
                  "logs_truncated": false, "output_bytes": 0}
  },
  "failure": null,
  "environment": {"cpu_model": "", "cores": 2, "kernel": "6.8.0",
                  "harness_version": "0.1.0", "split_seed": 1, "load_seed": 2}
}"#;

#[test]
fn a_report_stored_before_later_fields_still_reads() {
    let report: Report = serde_json::from_str(OLDER_REPORT).unwrap();
    let hidden = report.hidden.as_ref().unwrap();
    assert_eq!(hidden.scores.metric, MetricName::MacroF1);
    let public = hidden.scores.public.as_ref().unwrap();
    assert_eq!(
        (public.items, public.items_in_set),
        (300, 0),
        "the set's size is unknown"
    );
    assert!(hidden.latency.as_ref().unwrap().buckets.is_empty());
    assert_eq!(hidden.resources.throttled_periods, 0);
    assert_eq!((report.device_seconds, report.devices.len()), (0.0, 0));
    assert_eq!(hidden.quality, None, "no measurement-quality section");
    assert!(report.disturbed().is_none());
    assert_eq!(
        report.budget_latency_ms(),
        Some(2.5),
        "p90 without a verdict"
    );
}

#[test]
fn a_report_missing_a_field_it_always_had_is_refused_by_name() {
    let mut older: serde_json::Value = serde_json::from_str(OLDER_REPORT).unwrap();
    older["environment"]
        .as_object_mut()
        .unwrap()
        .remove("cores");
    let error = serde_json::from_value::<Report>(older).unwrap_err();
    assert!(
        error.to_string().contains("missing field `cores`"),
        "{error}"
    );
}

#[test]
fn private_scores_can_be_hidden_from_a_team() {
    let mut report = full_report();
    report.hide_private_scores();
    let scores = report.hidden_scores().unwrap();
    assert!(scores.public.is_some() && scores.private.is_none() && scores.all.is_none());
}

#[test]
fn repeated_disturbed_runs_are_left_out_of_what_is_charged() {
    // The hidden run's timed run was disturbed once and repeated: 12.625 s, 0.5 s of CPU.
    let mut report = full_report();
    assert_eq!(report.repeated_seconds(), 12.625);
    report.held_devices(vec!["0".into(), "1".into()], 100.0);
    assert_eq!(report.device_seconds, 100.0 - 2.0 * 12.625);
    assert_eq!(report.devices, ["0", "1"]);
    let sample = report.sample.as_ref().unwrap().resources.cpu_seconds;
    let hidden = report.hidden.as_ref().unwrap().resources.cpu_seconds;
    assert_eq!(report.charged_cpu_seconds(), sample + hidden - 0.5);
    // A host that did not show the container's CPU time: the hidden run's CPU time in
    // proportion to the time the repeats took.
    let run = report.hidden.as_mut().unwrap();
    run.resources.wall_seconds = 50.5;
    run.resources.cpu_seconds = 20.0;
    run.quality.as_mut().unwrap().repeated_cpu_seconds = None;
    assert_eq!(report.charged_cpu_seconds(), sample + 20.0 - 5.0);
    // A run kept at once is charged all it used.
    report.hidden.as_mut().unwrap().quality = None;
    report.held_devices(vec!["0".into()], 30.0);
    assert_eq!(report.device_seconds, 30.0);
    assert_eq!(report.charged_cpu_seconds(), sample + 20.0);
}

#[test]
fn hidden_resources_can_be_made_coarse_for_a_team() {
    let mut report = full_report();
    let hidden = report.hidden.as_mut().unwrap();
    hidden.resources.termination = crate::protocol::report::Termination::Exited { code: 42 };
    hidden.resources.wall_seconds = 61.5;
    hidden.resources.cpu_seconds = 3.25;
    hidden.resources.peak_memory_bytes = (300 << 20) + 12_345;
    hidden.resources.log_bytes = 4_242;
    hidden.resources.output_bytes = 7;
    let sample_before = report.sample.clone();
    report.coarsen_hidden_resources();
    let coarse = &report.hidden.as_ref().unwrap().resources;
    assert_eq!(
        coarse.termination,
        crate::protocol::report::Termination::Exited { code: 1 }
    );
    assert_eq!(coarse.wall_seconds, 120.0);
    assert_eq!(coarse.cpu_seconds, 60.0);
    assert_eq!(coarse.peak_memory_bytes, 512 << 20);
    assert_eq!(coarse.log_bytes, 0);
    assert_eq!(coarse.output_bytes, 64 << 20);
    assert_eq!(report.sample, sample_before, "the sample run stays exact");
    let quality = report.hidden.as_ref().unwrap().quality.as_ref().unwrap();
    assert_eq!(
        (quality.throttled_periods, quality.repeated_cpu_seconds),
        (None, None),
        "the container's figures go"
    );
    assert_eq!(quality.repeated_seconds, Some(13.0));
    assert_eq!(quality.send_lateness.as_ref().unwrap().p99_us, 30.0);
    // The devices too: a run could modulate their load or memory to carry answers out.
    let device = &report.accelerators[0];
    assert_eq!(device.leased_seconds, 60.0);
    assert_eq!(report.device_seconds, 60.0);
    assert_eq!(
        (device.busy_mean_percent, device.busy_max_percent),
        (Some(40.0), Some(80.0))
    );
    assert_eq!(
        device.memory_peak_bytes,
        Some(3 << 30),
        "a multiple of 256 MiB"
    );
    assert!(
        report.utilisation.is_empty(),
        "the minutes are the operator's"
    );
}

#[test]
fn reports_from_before_sampling_read_with_no_accelerator_figures() {
    let mut old = serde_json::to_value(full_report()).unwrap();
    let fields = old.as_object_mut().unwrap();
    fields.remove("accelerators");
    fields.remove("utilisation");
    let read: Report = serde_json::from_value(old).unwrap();
    assert!(read.accelerators.is_empty() && read.utilisation.is_empty());
    let again: Report =
        serde_json::from_value(serde_json::to_value(full_report()).unwrap()).unwrap();
    assert_eq!(again, full_report());
}

#[test]
fn a_disturbed_run_is_known_by_its_report_and_its_outcome() {
    let mut report = full_report();
    assert!(report.disturbed().is_none(), "a quiet run");
    let quality = report.hidden.as_mut().unwrap().quality.as_mut().unwrap();
    quality.disturbances.push(Disturbance {
        figure: Figure::HostPressure,
        value: 0.4,
        threshold: 0.2,
    });
    assert_eq!(report.disturbed().unwrap().attempts, 2);
    let body = ResultBody {
        worker_id: "wrk_1".into(),
        outcome: Outcome::Disturbed("host_pressure 0.400 over 0.200".into()),
        report: Some(report),
        sample_logs: None,
        hidden_logs: None,
        board_items: None,
    };
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(json["outcome"], "disturbed");
    assert_eq!(
        json["report"]["hidden"]["quality"]["disturbances"][0]["figure"],
        "host_pressure"
    );
    let read: ResultBody = serde_json::from_value(json).unwrap();
    assert_eq!(read, body);
}

#[test]
fn the_result_body_speaks_outcome_and_reason() {
    let failed = ResultBody {
        worker_id: "wrk_1".into(),
        outcome: Outcome::SubmissionFailed("exit code 137".into()),
        report: None,
        sample_logs: None,
        hidden_logs: None,
        board_items: None,
    };
    assert_eq!(
        serde_json::to_value(&failed).unwrap(),
        json!({"worker_id": "wrk_1", "outcome": "submission_failed", "reason": "exit code 137"})
    );
    let finished: ResultBody = serde_json::from_value(
        json!({"worker_id": "wrk_1", "outcome": "finished", "report": full_report()}),
    )
    .unwrap();
    assert_eq!(finished.outcome, Outcome::Finished);
    assert_eq!(finished.report, Some(full_report()));
    // Workers before this version sent `"reason": null` with every outcome.
    let null_reason: ResultBody =
        serde_json::from_value(json!({"worker_id": "w", "outcome": "finished", "reason": null}))
            .unwrap();
    assert_eq!(null_reason.outcome, Outcome::Finished);
    let retried: ResultBody = serde_json::from_value(
        json!({"worker_id": "w", "outcome": "infrastructure_failed", "reason": "disk full"}),
    )
    .unwrap();
    assert_eq!(retried.outcome.reason(), Some("disk full"));
}

#[test]
fn per_item_pairs_travel_beside_the_report_never_inside_it() {
    use jiebang_scenarios::metrics::Pairs;

    let items = BoardItems {
        public: Some(ItemPairs {
            items: "sha256:ids".into(),
            pairs: Pairs::Labels(vec![("secret-truth".into(), "secret-guess".into())]),
        }),
        private: None,
    };
    let mut report = full_report();
    if let Some(hidden) = &mut report.hidden {
        hidden.scores.items = Some(items.clone());
    }
    let written = serde_json::to_string(&report).unwrap();
    assert!(!written.contains("secret"), "{written}");

    let evaluation = crate::pipeline::Evaluation {
        report,
        sample_logs: b"sample".to_vec(),
        hidden_logs: b"hidden".to_vec(),
    };
    let body = crate::worker::result::result_body("wrk_1", Outcome::Finished, Some(evaluation));
    assert_eq!(body.board_items, Some(items));
    let sent = serde_json::to_value(&body).unwrap();
    assert!(!sent["report"].to_string().contains("secret"));
    assert_eq!(
        sent["board_items"]["public"]["pairs"]["truth"][0],
        "secret-truth"
    );
    let back: ResultBody = serde_json::from_value(sent).unwrap();
    assert_eq!(back.board_items, body.board_items);
}

#[test]
fn the_result_body_refuses_what_it_does_not_know() {
    for (body, expected) in [
        (
            json!({"worker_id": "w", "outcome": "finished", "score": 1}),
            "score",
        ),
        (json!({"worker_id": "w", "outcome": "done"}), "done"),
        (
            json!({"worker_id": "w", "outcome": "submission_failed"}),
            "reason",
        ),
        (json!({"outcome": "finished"}), "worker_id"),
    ] {
        let error = serde_json::from_value::<ResultBody>(body.clone())
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{body}: {error}");
    }
}

#[test]
fn stages_are_spelt_alike_on_the_wire_and_in_the_history() {
    for stage in [Stage::SampleRun, Stage::HiddenRun, Stage::Scoring] {
        assert_eq!(serde_json::to_value(stage).unwrap(), json!(stage.as_str()));
    }
    let refused = serde_json::from_value::<StageReport>(json!({"worker_id": "w", "stage": "done"}));
    assert!(refused.is_err(), "workers cannot declare a submission done");
}

#[test]
fn registration_refuses_unknown_fields_and_takes_accelerators() {
    let node: Registration = serde_json::from_value(json!({
        "name": "gpu-1", "cpus": 8, "memory_mb": 65536,
        "accelerators": [{"id": "0", "model": "A100"}]
    }))
    .unwrap();
    assert_eq!(node.accelerators[0].model, "A100");
    let typo = serde_json::from_value::<Registration>(
        json!({"name": "gpu-1", "cpus": 8, "memory_mb": 1, "gpus": 2}),
    );
    assert!(typo.is_err());
}
