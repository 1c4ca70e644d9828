//! The worker's peak memory while the harness evaluates a server that answers 32 MiB to
//! every query, in every framing. Alone in its test binary, so the process's high-water
//! mark (VmHWM) is this test's own; a batch program's 40 MiB prediction line likewise.
//! Figures are recorded in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use jiebang_evaluator::harness::answer::first_output;
use jiebang_evaluator::harness::connection::DEFAULT_MAX_ANSWER_BYTES;
use jiebang_evaluator::harness::oip::{encode_request, infer_path};
use jiebang_evaluator::harness::{LoadSpec, Pattern, QueryOutcome, run};
use jiebang_evaluator::pipeline::batch::read_predictions;
use jiebang_scenarios::package::Record;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ANSWER: usize = 32 << 20;
const PIECE: usize = 1 << 20;

#[derive(Clone, Copy, Debug)]
enum Framing {
    Length,
    Chunked,
    UntilClose,
}

/// Answers every request with a 32 MiB body, written a MiB at a time from one shared piece.
async fn flooding_server(framing: Framing) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let piece: &'static [u8] = Box::leak(vec![b' '; PIECE].into_boxed_slice());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 << 10];
                while let Ok(n) = stream.read(&mut request).await {
                    if n == 0 {
                        break;
                    }
                    let head = match framing {
                        Framing::Length => {
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {ANSWER}\r\n\r\n")
                        }
                        Framing::Chunked => {
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".into()
                        }
                        Framing::UntilClose => "HTTP/1.1 200 OK\r\n\r\n".into(),
                    };
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        break;
                    }
                    for _ in 0..ANSWER / PIECE {
                        let written = match framing {
                            Framing::Chunked => {
                                stream
                                    .write_all(format!("{PIECE:x}\r\n").as_bytes())
                                    .await
                                    .is_ok()
                                    && stream.write_all(piece).await.is_ok()
                                    && stream.write_all(b"\r\n").await.is_ok()
                            }
                            _ => stream.write_all(piece).await.is_ok(),
                        };
                        if !written {
                            return;
                        }
                    }
                    match framing {
                        Framing::Chunked => {
                            let _ = stream.write_all(b"0\r\n\r\n").await;
                        }
                        Framing::UntilClose => return,
                        Framing::Length => {}
                    }
                }
            });
        }
    });
    address
}

fn high_water_mark_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_of_32_mib_keep_the_worker_under_600_mib() {
    let before = high_water_mark_kib();
    let body: Vec<Bytes> = vec![encode_request("q", &[]).unwrap()];
    let mut queries = 0;
    for framing in [Framing::Length, Framing::Chunked, Framing::UntilClose] {
        let address = flooding_server(framing).await;
        for pattern in [
            Pattern::SingleStream,
            Pattern::Offline { concurrency: 16 },
            Pattern::Server { rate_qps: 200.0 },
        ] {
            let load = LoadSpec {
                pattern,
                min_duration: Duration::ZERO,
                min_queries: 60,
                timeout: Duration::from_secs(10),
                seed: 1,
                max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
                max_run_answer_bytes:
                    jiebang_evaluator::harness::connection::DEFAULT_RUN_ANSWER_BYTES,
                keep: first_output,
                deadline: None,
            };
            let result = run(address, &infer_path("m"), &body, &load).await.unwrap();
            queries += result.records.len();
            assert!(
                result.records.iter().all(|r| matches!(&r.outcome,
                    QueryOutcome::Failed(error) if error.contains("answer too large"))),
                "{framing:?} {pattern:?}: every 32 MiB answer is refused as too large"
            );
        }
    }
    let peak = high_water_mark_kib();
    println!(
        "{queries} answers of 32 MiB: peak memory {} MiB (before the runs {} MiB)",
        peak / 1024,
        before / 1024
    );
    assert!(peak < 600 * 1024, "peak memory {} MiB", peak / 1024);
}

#[test]
fn a_40_mib_prediction_line_is_skipped_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("predictions.jsonl");
    let mut text = String::from("{\"id\":\"a\",\"prediction\":1}\n{\"id\":\"b\",\"prediction\":[");
    text.push_str(&"0,".repeat(20 << 20));
    text.push_str("0]}\n{\"id\":\"c\",\"prediction\":3}\n");
    std::fs::write(&path, text).unwrap();
    let records: Vec<Record> = ["a", "b", "c"]
        .iter()
        .map(|id| Record {
            id: (*id).to_owned(),
            inputs: serde_json::Map::new(),
        })
        .collect();
    let by_id = read_predictions(&path, &records).unwrap();
    assert_eq!(
        by_id.len(),
        2,
        "the overlong line is skipped, the others read"
    );
    let peak = high_water_mark_kib();
    println!("a 40 MiB prediction line: peak memory {} MiB", peak / 1024);
    assert!(peak < 600 * 1024, "peak memory {} MiB", peak / 1024);
}
