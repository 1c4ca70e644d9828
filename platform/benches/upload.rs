//! Uploading a 1 GiB image archive through `jiebang serve` against a plain copy of the same
//! file on the same disk (with fsync, as the upload does), and the server's peak memory.
//!
//! `cargo bench -p jiebang-platform --bench upload`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Seek, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SIZE: u64 = 1 << 30;
const ROUNDS: usize = 3;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:").map(|v| {
                    v.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .unwrap_or(0.0)
                })
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn admin(data: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .arg("admin")
        .args(args)
        .env("JIEBANG_DATA", data)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("jb_"))
        .unwrap_or_default()
        .to_owned()
}

fn main() {
    let work = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(data.join("catalog")).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
    assert!(
        Command::new("cp")
            .arg("-r")
            .arg(&fixture)
            .arg(data.join("catalog/parcel"))
            .status()
            .unwrap()
            .success()
    );

    // The archive: 1 GiB of pseudo-random bytes (incompressible, like image layers).
    let archive = work.path().join("image.tar");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&archive).unwrap());
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..(SIZE >> 20) {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes());
            }
            file.write_all(&block).unwrap();
        }
    }

    let mut server = Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("JIEBANG_DATA", &data)
        .env("JIEBANG_CATALOG", data.join("catalog"))
        .env("JIEBANG_EMBEDDED_WORKER", "false")
        .env("JIEBANG_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(address) = line.strip_prefix("Jiebang is listening on ") {
            break address.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    admin(
        &data,
        &["create-user", "--login", "bench", "--name", "Bench"],
    );
    let token = admin(&data, &["create-token", "--login", "bench"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let team = runtime.block_on(async {
        let team: serde_json::Value = client
            .post(format!("{base}/api/v1/teams"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "Bench", "kind": "company", "institution": "Bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let team = team["id"].as_str().unwrap().to_owned();
        let enrolled = client
            .post(format!(
                "{base}/api/v1/scenarios/test-parcel-delay/enrolments"
            ))
            .bearer_auth(&token)
            .json(&serde_json::json!({"team_id": team}))
            .send()
            .await
            .unwrap();
        assert_eq!(enrolled.status(), 201);
        team
    });
    let rss_before = peak_rss_mib(server.id());

    let (mut copies, mut uploads) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let target = work.path().join("copy.tar");
        let started = Instant::now();
        std::fs::copy(&archive, &target).unwrap();
        std::fs::File::open(&target).unwrap().sync_all().unwrap();
        copies.push(started.elapsed());
        std::fs::remove_file(&target).unwrap();

        // A different image each round: the platform refuses the same digest twice.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&archive)
            .unwrap();
        file.rewind().unwrap();
        file.write_all(&(round as u64).to_le_bytes()).unwrap();
        file.sync_all().unwrap();

        let started = Instant::now();
        let status = runtime.block_on(async {
            let file = tokio::fs::File::open(&archive).await.unwrap();
            client
                .post(format!(
                    "{base}/api/v1/scenarios/test-parcel-delay/submissions?team_id={team}"
                ))
                .bearer_auth(&token)
                .header("Content-Type", "application/x-tar")
                .header("Content-Length", SIZE)
                .body(reqwest::Body::wrap_stream(
                    tokio_util::io::ReaderStream::with_capacity(file, 1 << 20),
                ))
                .send()
                .await
                .unwrap()
                .status()
        });
        uploads.push(started.elapsed());
        assert_eq!(status, 201);
    }
    let rss_after = peak_rss_mib(server.id());
    let _ = server.kill();
    let _ = server.wait();

    let mib_per_s = |d: Duration| SIZE as f64 / (1 << 20) as f64 / d.as_secs_f64();
    let (copy, upload) = (median(copies), median(uploads));
    println!("{:<44} {:>12}", "1 GiB archive, median of 3", "MiB/s");
    println!(
        "{:<44} {:>12.0}",
        "plain copy on the same disk (+ fsync)",
        mib_per_s(copy)
    );
    println!(
        "{:<44} {:>12.0}",
        "upload through jiebang serve (hash, fsync)",
        mib_per_s(upload)
    );
    println!(
        "{:<44} {:>12.2}",
        "upload ÷ copy",
        copy.as_secs_f64() / upload.as_secs_f64()
    );
    println!(
        "{:<44} {:>9.0} MiB",
        "server peak memory before the uploads", rss_before
    );
    println!(
        "{:<44} {:>9.0} MiB",
        "server peak memory after three uploads", rss_after
    );
}
