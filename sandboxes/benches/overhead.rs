//! One sandboxed run of a trivial static binary against a plain `docker run --rm` of the same
//! image, alternating, median of repeated runs in one session.
//!
//! `cargo bench -p jiebang-sandboxes --bench overhead` (needs the Docker engine).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/fixture.rs"]
mod fixture;

use std::time::{Duration, Instant};

use jiebang_sandboxes::{Limits, Mode, RunSpec, Sandbox, SandboxConfig, Termination};

const RUNS: usize = 15;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let image = fixture::fixture_image();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::connect(SandboxConfig::default()))
        .expect("Docker is running");
    let (mut plain, mut sandboxed) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let started = Instant::now();
        let status = std::process::Command::new("docker")
            .args(["run", "--rm", "--network", "none", image, "exit", "0"])
            .status()
            .unwrap();
        assert!(status.success());
        plain.push(started.elapsed());

        let spec = RunSpec {
            job_id: format!("bench-{}-{run}", std::process::id()),
            image: image.to_owned(),
            command: Some(vec!["exit".into(), "0".into()]),
            env: vec![],
            mode: Mode::Batch,
            limits: Limits::default(),
            input_dir: None,
            devices: vec![],
        };
        let output = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let outcome = runtime
            .block_on(sandbox.run_batch(&spec, output.path()))
            .unwrap();
        sandboxed.push(started.elapsed());
        assert_eq!(outcome.termination, Termination::Exited { code: 0 });
    }
    let (plain, sandboxed) = (median(plain), median(sandboxed));
    println!(
        "{:<46} {:>12}",
        "run of a trivial static binary", "median (ms)"
    );
    println!(
        "{:<46} {:>12.0}",
        "docker run --rm --network none (CLI)",
        plain.as_secs_f64() * 1000.0
    );
    println!(
        "{:<46} {:>12.0}",
        "Sandbox::run_batch (full policy, clean-up)",
        sandboxed.as_secs_f64() * 1000.0
    );
    println!(
        "{:<46} {:>12.2}",
        "sandboxed ÷ plain",
        sandboxed.as_secs_f64() / plain.as_secs_f64()
    );
    println!("medians of {RUNS} alternating runs");
}
