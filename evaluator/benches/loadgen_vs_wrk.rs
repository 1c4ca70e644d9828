//! The harness's load generator against wrk, on the same trivial Open Inference Protocol
//! server, in one run: achieved request rate and latency percentiles side by side.
//!
//! `cargo bench -p jiebang-evaluator --bench loadgen_vs_wrk` (needs `wrk` and `taskset`,
//! Debian packages wrk and util-linux).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use jiebang_evaluator::harness::oip::{Tensor, encode_request, infer_path};
use jiebang_evaluator::harness::{LatencySummary, LoadSpec, Pattern, null_server, run};

const ROUNDS: usize = 3;
const SECONDS: u64 = 4;

struct Figures {
    rate: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Pins the calling thread to one CPU, as the evaluator pins the harness and the container
/// to disjoint CPU sets; unpinned, the two sides trade places and the figures wander.
fn pin_to(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn wrk(url: &str, connections: usize, body: &str, script_dir: &std::path::Path) -> Figures {
    let script = script_dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = [[{body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )
    .unwrap();
    let output = Command::new("taskset")
        .args([
            "-c",
            "0",
            "wrk",
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{SECONDS}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk is installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk output:\n{text}"));
    let percentile = |label: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in wrk output:\n{text}"));
        let value = line.split_whitespace().nth(1).unwrap_or("0");
        let (number, unit) = value.split_at(
            value
                .find(|c: char| c.is_alphabetic())
                .unwrap_or(value.len()),
        );
        let number: f64 = number.parse().unwrap_or(0.0);
        match unit {
            "us" => number,
            "ms" => number * 1000.0,
            "s" => number * 1_000_000.0,
            _ => number,
        }
    };
    Figures {
        rate,
        p50_us: percentile("50%"),
        p99_us: percentile("99%"),
    }
}

fn harness(
    runtime: &tokio::runtime::Runtime,
    address: std::net::SocketAddr,
    pattern: Pattern,
    body: &bytes::Bytes,
) -> Figures {
    let spec = LoadSpec {
        pattern,
        min_duration: Duration::from_secs(SECONDS),
        min_queries: match pattern {
            // Offline sends a fixed number; size it to last about as long as the others.
            Pattern::Offline { .. } => 40_000,
            _ => 1,
        },
        timeout: Duration::from_secs(1),
        seed: 1,
        max_answer_bytes: jiebang_evaluator::harness::connection::DEFAULT_MAX_ANSWER_BYTES,
        max_run_answer_bytes: jiebang_evaluator::harness::connection::DEFAULT_RUN_ANSWER_BYTES,
        keep: jiebang_evaluator::harness::keep_nothing,
        deadline: None,
    };
    let result = runtime
        .block_on(run(
            address,
            &infer_path("m"),
            std::slice::from_ref(body),
            &spec,
        ))
        .unwrap();
    let summary = LatencySummary::of(&result);
    Figures {
        rate: summary.achieved_qps,
        p50_us: summary.p50_ms * 1000.0,
        p99_us: summary.p99_ms * 1000.0,
    }
}

fn main() {
    // The server gets a thread and runtime of its own, like a separate process would.
    let (address_sender, address_receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        pin_to(1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = null_server::null().await.unwrap();
            address_sender.send(server.address).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let address = address_receiver.recv().unwrap();
    let url = format!("http://{address}{}", infer_path("m"));
    let input = Tensor {
        name: "x".into(),
        shape: vec![1, 4],
        datatype: "FP32".into(),
        data: serde_json::json!([0.1, 0.2, 0.3, 0.4]),
    };
    let body = encode_request("q", &[input]).unwrap();
    let body_text = String::from_utf8(body.to_vec()).unwrap();
    pin_to(0);
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scratch = std::env::temp_dir();

    println!(
        "{:<34} {:>12} {:>10} {:>10}",
        "load (client on CPU 0, server on 1)", "rate (q/s)", "p50 (µs)", "p99 (µs)"
    );
    for (name, connections, pattern) in [
        ("1 connection, closed loop", 1, Pattern::SingleStream),
        (
            "8 connections, closed loop",
            8,
            Pattern::Offline { concurrency: 8 },
        ),
    ] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            theirs.push(wrk(&url, connections, &body_text, &scratch));
            ours.push(harness(&client, address, pattern, &body));
        }
        let row = |figures: &[Figures]| {
            (
                median(figures.iter().map(|f| f.rate).collect()),
                median(figures.iter().map(|f| f.p50_us).collect()),
                median(figures.iter().map(|f| f.p99_us).collect()),
            )
        };
        let (wrk_rate, wrk_p50, wrk_p99) = row(&theirs);
        let (our_rate, our_p50, our_p99) = row(&ours);
        println!(
            "{:<34} {:>12.0} {:>10.1} {:>10.1}",
            format!("wrk, {name}"),
            wrk_rate,
            wrk_p50,
            wrk_p99
        );
        println!(
            "{:<34} {:>12.0} {:>10.1} {:>10.1}",
            format!("harness, {name}"),
            our_rate,
            our_p50,
            our_p99
        );
        println!(
            "{:<34} {:>12.2} {:>10.1} {:>10.1}",
            "  harness ÷ wrk (rate), + µs",
            our_rate / wrk_rate,
            our_p50 - wrk_p50,
            our_p99 - wrk_p99
        );
    }
    println!("medians of {ROUNDS} alternating rounds of {SECONDS} s each");
}
