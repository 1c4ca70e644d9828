//! The harness against programmable Open Inference Protocol servers on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_evaluator::harness::answer::first_output;
use jiebang_evaluator::harness::connection::DEFAULT_MAX_ANSWER_BYTES;
use jiebang_evaluator::harness::null_server::{self, Reply};
use jiebang_evaluator::harness::oip::{Tensor, encode_request, infer_path};
use jiebang_evaluator::harness::{LatencySummary, LoadSpec, Pattern, QueryOutcome, run};

fn bodies(count: usize) -> Vec<Bytes> {
    (0..count)
        .map(|n| {
            let input = Tensor {
                name: "x".into(),
                shape: vec![1, 2],
                datatype: "FP32".into(),
                data: serde_json::json!([n as f64, 1.0]),
            };
            encode_request(&format!("q{n}"), &[input]).unwrap()
        })
        .collect()
}

fn spec(pattern: Pattern, min_queries: u64, min_duration: Duration) -> LoadSpec {
    LoadSpec {
        pattern,
        min_duration,
        min_queries,
        timeout: Duration::from_secs(1),
        seed: 7,
        max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        max_run_answer_bytes: jiebang_evaluator::harness::connection::DEFAULT_RUN_ANSWER_BYTES,
        keep: first_output,
        deadline: None,
    }
}

/// A server that handles one query at a time, each taking `service`: queries that arrive
/// while it is busy wait, as they would at a real single-threaded model server.
fn serial_server(service: Duration) -> null_server::Handler {
    let free_at = Arc::new(Mutex::new(Instant::now()));
    Arc::new(move |_method, path, _body| {
        if !path.ends_with("/infer") {
            return Reply::ok("{}");
        }
        let mut free_at = free_at.lock().unwrap();
        let now = Instant::now();
        let start = (*free_at).max(now);
        *free_at = start + service;
        Reply {
            status: 200,
            body: Bytes::from_static(null_server::NULL_ANSWER.as_bytes()),
            delay: *free_at - now,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_stream_sends_every_query_and_reads_every_answer() {
    let server = null_server::null().await.unwrap();
    let result = run(
        server.address,
        &infer_path("m"),
        &bodies(10),
        &spec(Pattern::SingleStream, 200, Duration::ZERO),
    )
    .await
    .unwrap();
    assert_eq!(result.records.len(), 200);
    assert!(result.records.iter().all(|r| matches!(&r.outcome,
        QueryOutcome::Answered { status: 200, value: Some(value) } if *value == serde_json::json!(0.0))));
    assert_eq!(
        result.connections_opened, 1,
        "one keep-alive connection carries the stream"
    );
    let mut per_sample = [0; 10];
    for record in &result.records {
        per_sample[record.sample] += 1;
    }
    assert_eq!(per_sample, [20; 10], "the inputs are cycled evenly");
    let summary = LatencySummary::of(&result);
    assert_eq!(summary.queries, 200);
    assert!(
        summary.p50_ms > 0.0
            && summary.p50_ms <= summary.p99_ms
            && summary.p99_ms <= summary.max_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pattern_keeps_its_rate_and_counts_queueing() {
    // Capacity 100 queries/s against arrivals at 200/s: the queue grows, and since latency
    // runs from each query's scheduled time, the growing wait shows in the tail.
    let server = null_server::start(serial_server(Duration::from_millis(10)))
        .await
        .unwrap();
    let result = run(
        server.address,
        &infer_path("m"),
        &bodies(5),
        &spec(
            Pattern::Server { rate_qps: 200.0 },
            100,
            Duration::from_millis(1000),
        ),
    )
    .await
    .unwrap();
    let issued = result.records.len() as f64;
    assert!(
        (150.0..=250.0).contains(&issued),
        "issued {issued} queries in a one-second run at 200/s"
    );
    let summary = LatencySummary::of(&result);
    assert!(
        summary.p99_ms > 200.0,
        "queueing must show in the tail: {summary:?}"
    );
    assert!(
        result.connections_opened > 1,
        "outstanding queries get connections of their own"
    );

    let idle_server = null_server::start(serial_server(Duration::from_millis(2)))
        .await
        .unwrap();
    let relaxed = run(
        idle_server.address,
        &infer_path("m"),
        &bodies(5),
        &spec(
            Pattern::Server { rate_qps: 50.0 },
            30,
            Duration::from_millis(600),
        ),
    )
    .await
    .unwrap();
    let relaxed = LatencySummary::of(&relaxed);
    assert!(
        relaxed.p50_ms < 50.0,
        "a server with spare capacity answers in its service time: {relaxed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_time_out_and_errors_are_kept() {
    let server = null_server::start(Arc::new(|_m, path, body| {
        if !path.ends_with("/infer") {
            return Reply::ok("{}");
        }
        // Every third input is "hard": the server takes two seconds over it.
        let hard = std::str::from_utf8(body).unwrap().contains("\"id\":\"q0\"");
        let failing = std::str::from_utf8(body).unwrap().contains("\"id\":\"q1\"");
        Reply {
            status: if failing { 500 } else { 200 },
            body: Bytes::from_static(if failing {
                br#"{"error":"boom"}"#
            } else {
                b"{}"
            }),
            delay: if hard {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            },
        }
    }))
    .await
    .unwrap();
    let mut load = spec(Pattern::SingleStream, 9, Duration::ZERO);
    load.timeout = Duration::from_millis(200);
    let result = run(server.address, &infer_path("m"), &bodies(3), &load)
        .await
        .unwrap();
    assert_eq!(result.records.len(), 9);
    for record in &result.records {
        match record.sample {
            0 => {
                assert_eq!(record.outcome, QueryOutcome::TimedOut);
                assert!(record.latency >= Duration::from_millis(200));
            }
            1 => assert!(matches!(
                record.outcome,
                QueryOutcome::Answered { status: 500, .. }
            )),
            _ => assert!(matches!(
                record.outcome,
                QueryOutcome::Answered { status: 200, .. }
            )),
        }
    }
    let summary = LatencySummary::of(&result);
    assert_eq!(summary.timeouts, 3);
    assert!(
        result.connections_opened >= 3,
        "a timed-out connection is replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sends_each_input_through_bounded_connections() {
    let server = null_server::null().await.unwrap();
    let result = run(
        server.address,
        &infer_path("m"),
        &bodies(100),
        &spec(Pattern::Offline { concurrency: 4 }, 0, Duration::ZERO),
    )
    .await
    .unwrap();
    let mut samples: Vec<usize> = result.records.iter().map(|r| r.sample).collect();
    samples.sort_unstable();
    assert_eq!(samples, (0..100).collect::<Vec<_>>());
    assert_eq!(result.connections_opened, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_server_and_bad_specs_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let refused = run(
        address,
        "/v2/models/m/infer",
        &bodies(1),
        &spec(Pattern::SingleStream, 1, Duration::ZERO),
    )
    .await;
    assert!(matches!(
        refused,
        Err(jiebang_evaluator::EvaluatorError::Connect { .. })
    ));
    let server = null_server::null().await.unwrap();
    let empty = run(
        server.address,
        "/",
        &[],
        &spec(Pattern::SingleStream, 1, Duration::ZERO),
    )
    .await;
    assert!(empty.is_err());
    let no_rate = run(
        server.address,
        "/",
        &bodies(1),
        &spec(Pattern::Server { rate_qps: 0.0 }, 1, Duration::ZERO),
    )
    .await;
    assert!(no_rate.is_err());
}
