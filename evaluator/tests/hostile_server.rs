//! The harness against hostile servers on loopback: absurd chunk sizes, answers that never
//! come, connections that are never accepted. Each ends as the query's error or at the
//! harness's own deadline, never as a panic or a stall.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_evaluator::harness::answer::first_output;
use jiebang_evaluator::harness::connection::DEFAULT_MAX_ANSWER_BYTES;
use jiebang_evaluator::harness::oip::{check_metadata, encode_request, infer_path, wait_ready};
use jiebang_evaluator::harness::{LoadSpec, Pattern, QueryOutcome, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A raw server: reads each request's head and writes `answer` back, forever.
async fn raw_server(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 << 10];
                while let Ok(n) = stream.read(&mut buffer).await {
                    if n == 0 || stream.write_all(answer).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

/// Accepts connections and reads requests, but never answers.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

/// Listens with a full backlog and never accepts: a new connection is never completed.
async fn unaccepting_server() -> (SocketAddr, Vec<TcpStream>, TcpListener) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    // Fill the backlog until a connection no longer completes.
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(address)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    (address, fillers, listener)
}

fn spec(pattern: Pattern, min_queries: u64, deadline: Option<Instant>) -> LoadSpec {
    LoadSpec {
        pattern,
        min_duration: Duration::ZERO,
        min_queries,
        timeout: Duration::from_secs(1),
        seed: 3,
        max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        max_run_answer_bytes: jiebang_evaluator::harness::connection::DEFAULT_RUN_ANSWER_BYTES,
        keep: first_output,
        deadline,
    }
}

fn bodies() -> Vec<Bytes> {
    vec![encode_request("q0", &[]).unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_size_near_u64_max_is_the_query_error_not_a_panic() {
    let address = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\nfffffffffffffffe\r\nxx",
    )
    .await;
    let result = run(
        address,
        &infer_path("m"),
        &bodies(),
        &spec(Pattern::SingleStream, 5, None),
    )
    .await
    .unwrap();
    assert_eq!(result.records.len(), 5);
    for record in &result.records {
        match &record.outcome {
            QueryOutcome::Failed(error) => assert!(error.contains("too large"), "{error}"),
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_cap_is_answer_too_large() {
    let address = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n").await;
    let result = run(
        address,
        &infer_path("m"),
        &bodies(),
        &spec(Pattern::SingleStream, 2, None),
    )
    .await
    .unwrap();
    assert!(result.records.iter().all(|r| matches!(&r.outcome,
        QueryOutcome::Failed(error) if error.contains("answer too large"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_ends_at_the_deadline() {
    let address = silent_server().await;
    for pattern in [
        Pattern::SingleStream,
        Pattern::Server { rate_qps: 50.0 },
        Pattern::Offline { concurrency: 4 },
    ] {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(2);
        let mut load = spec(pattern, 10_000, Some(deadline));
        load.timeout = Duration::from_secs(30);
        let result = run(address, &infer_path("m"), &bodies(), &load)
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(2500),
            "{pattern:?} took {took:?} against a 2 s deadline"
        );
        assert!(result.cut_by_deadline, "{pattern:?}");
        assert!(
            result
                .records
                .iter()
                .all(|r| r.outcome == QueryOutcome::TimedOut),
            "{pattern:?}: queries still out are cancelled and count as timed out"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_ends_at_the_start_up_limit_whatever_the_server_does() {
    let silent = silent_server().await;
    let (unaccepting, _fillers, _listener) = unaccepting_server().await;
    for address in [silent, unaccepting] {
        let started = Instant::now();
        let ready = wait_ready(address, Duration::from_secs(2), || async { true }).await;
        let took = started.elapsed();
        assert!(!ready);
        assert!(
            took < Duration::from_millis(2500),
            "readiness took {took:?} against a 2 s start-up limit"
        );
    }
    // The load itself cannot connect past its deadline either.
    let started = Instant::now();
    let mut load = spec(
        Pattern::SingleStream,
        10,
        Some(started + Duration::from_secs(1)),
    );
    load.timeout = Duration::from_secs(30);
    let refused = run(unaccepting, &infer_path("m"), &bodies(), &load).await;
    assert!(refused.is_err());
    assert!(started.elapsed() < Duration::from_millis(1500));
    let task = jiebang_scenarios::package::Task {
        model: "m".into(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    let started = Instant::now();
    let error = check_metadata(silent, &task, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(error.contains("did not answer"), "{error}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

/// Sends the head and 512 KiB of a 1 MiB answer, then holds the connection open.
async fn stalling_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 << 10];
                if stream.read(&mut request).await.unwrap_or(0) == 0 {
                    return;
                }
                let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
                if stream.write_all(head).await.is_ok()
                    && stream.write_all(&vec![b' '; 512 << 10]).await.is_ok()
                {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_in_flight_are_capped_for_the_whole_run() {
    // At 200 queries/s with a 1 s time-out about 200 queries are out at once; each holds
    // half a MiB of its answer. The run may hold 8 MiB: the rest fail, none is kept.
    let address = stalling_server().await;
    let started = Instant::now();
    let mut load = spec(
        Pattern::Server { rate_qps: 200.0 },
        100,
        Some(started + Duration::from_secs(3)),
    );
    load.max_run_answer_bytes = 8 << 20;
    let result = run(address, &infer_path("m"), &bodies(), &load)
        .await
        .unwrap();
    let refused = result
        .records
        .iter()
        .filter(|r| matches!(&r.outcome, QueryOutcome::Failed(e) if e.contains("in flight")))
        .count();
    assert!(
        refused > result.records.len() / 2,
        "{refused} of {} refused for the run's cap",
        result.records.len()
    );
}
