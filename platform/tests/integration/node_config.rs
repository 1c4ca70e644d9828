//! The shipped binary's settings: a worker started from a configuration file registers
//! the accelerators it lists, and a first start logs no error.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiebang_sandboxes::testing::require_docker;

use crate::binary::{admin_cli, admin_token, start_server};

/// A child process killed when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `jiebang` binary with none of the caller's configuration in its environment.
pub fn jiebang(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jiebang"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("JIEBANG_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
        .env("JIEBANG_DATA", data_dir)
        .env("JIEBANG_LOG", "info");
    command
}

#[actix_web::test]
async fn a_worker_from_a_config_file_registers_its_accelerators() {
    if require_docker().await.is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("jiebang.db").display());
    let server = start_server(data.path(), &url, &data.path().join("catalog"), false);
    let admin = admin_token(&server.printed).expect("a first start prints the admin token");
    let token = admin_cli(
        data.path(),
        &url,
        &[
            "create-token",
            "--login",
            "admin",
            "--name",
            "node",
            "--worker",
        ],
    );

    let node = tempfile::tempdir().unwrap();
    let file = node.path().join("worker.toml");
    std::fs::write(
        &file,
        format!(
            "[worker]\nplatform = \"{}\"\nname = \"gpu-node-7\"\n\
             [sandbox]\naccelerators = [\n  {{ id = \"0\", model = \"H100\" }},\n  \
             {{ id = \"GPU-5f2c\", model = \"H100\" }},\n]\n",
            server.base
        ),
    )
    .unwrap();
    let log = node.path().join("worker.log");
    let _worker = Running(
        jiebang(node.path())
            .arg("--config")
            .arg(&file)
            .arg("worker")
            .env("JIEBANG_WORKER_TOKEN", &token)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let worker = loop {
        let overview: serde_json::Value = client
            .get(format!("{}/api/v1/admin/overview", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = overview["workers"]
            .as_array()
            .and_then(|workers| workers.iter().find(|w| w["name"] == "gpu-node-7"))
            .cloned();
        if let Some(worker) = found {
            break worker;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never registered; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let devices: Vec<(&str, &str)> = worker["accelerators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), d["model"].as_str().unwrap()))
        .collect();
    assert_eq!(devices, [("0", "H100"), ("GPU-5f2c", "H100")], "{worker}");
    assert_eq!(worker["alive"], true);
}

/// Starts `jiebang serve` on a fresh data directory and returns what it logged until it
/// listened.
fn first_start_log() -> String {
    let data = tempfile::tempdir().unwrap();
    let mut child = jiebang(data.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("JIEBANG_CATALOG", data.path().join("catalog"))
        .env("JIEBANG_EMBEDDED_WORKER", "false")
        // Many connections opened at once, as a busy site's pool does.
        .env("JIEBANG_POOL_SIZE", "16")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let child = Running(child);
    let mut printed = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&printed).contains("Jiebang is listening on") {
        match stdout.read(&mut byte) {
            Ok(1) => printed.push(byte[0]),
            _ => panic!("serve stopped before listening"),
        }
    }
    drop(child);
    let mut logged = String::new();
    stderr.read_to_string(&mut logged).unwrap();
    logged
}

#[test]
fn a_first_start_logs_no_error() {
    // The pool's connections race for the new file's lock; give the race a few chances.
    for _ in 0..3 {
        let logged = first_start_log();
        assert!(logged.contains("opening database"), "{logged}");
        assert!(
            !logged.contains("ERROR"),
            "a first start logged an error:\n{logged}"
        );
    }
}
