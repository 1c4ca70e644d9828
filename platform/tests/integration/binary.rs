//! The real `jiebang` binary in tests: `serve` on a free port, `admin` commands, client
//! commands; what restart and walk-through tests drive.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A running `jiebang serve`, stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    /// What it printed up to and just after its listening line.
    pub printed: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Sends SIGTERM and waits (at most 30 s) for the process to exit; how long it took.
    pub fn terminate(&mut self) -> Duration {
        let pid = self.child.id().to_string();
        let started = std::time::Instant::now();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "jiebang serve exited with {status}");
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("jiebang serve did not stop within 30 s of SIGTERM");
    }
}

/// Starts the real binary on a free port with its data in `data_dir`, the packages of
/// `catalog` and, when asked, its embedded worker; waits for its listening line.
pub fn start_server(
    data_dir: &Path,
    database_url: &str,
    catalog: &Path,
    embedded_worker: bool,
) -> Server {
    start_server_with(
        data_dir,
        database_url,
        catalog,
        embedded_worker,
        "127.0.0.1:0",
        &[],
    )
}

/// [`start_server`] on a chosen address, with more configuration in the environment.
pub fn start_server_with(
    data_dir: &Path,
    database_url: &str,
    catalog: &Path,
    embedded_worker: bool,
    bind: &str,
    environment: &[(&str, String)],
) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args(["serve", "--bind", bind])
        // Other tests share the machine: its timed runs are measured, not judged (a test
        // that is about interference sets this back).
        .env("JIEBANG_MEASUREMENT_JUDGE", "false")
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .env("JIEBANG_DATA", data_dir)
        .env("DATABASE_URL", database_url)
        .env("JIEBANG_CATALOG", catalog)
        .env("JIEBANG_EMBEDDED_WORKER", embedded_worker.to_string())
        .env_remove("JIEBANG_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jiebang serve");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    let base = loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("jiebang serve printed its address");
        printed.push(line.clone());
        if let Some(address) = line.strip_prefix("Jiebang is listening on ") {
            break address.split(',').next().unwrap().trim().to_owned();
        }
    };
    // The token lines follow the address line immediately.
    while let Ok(line) = receiver.recv_timeout(Duration::from_millis(300)) {
        printed.push(line);
    }
    Server {
        child,
        base,
        printed,
    }
}

/// The one-time admin token a first start prints.
pub fn admin_token(printed: &[String]) -> Option<String> {
    printed
        .iter()
        .map(|line| line.trim())
        .find(|line| line.starts_with("jb_"))
        .map(str::to_owned)
}

/// A port nobody listens on now, for a server whose URL must be known before it starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap()
}

/// Runs `jiebang admin ARGS` on the platform's data; returns the token it printed, if any.
pub fn admin_cli(data_dir: &Path, database_url: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .arg("admin")
        .args(args)
        .env("JIEBANG_DATA", data_dir)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .find(|word| word.starts_with("jb_"))
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Creates user `login` (with `role`, if any) through `jiebang admin` and returns a new
/// token for them: a worker token when `worker` is set.
pub fn user_with_token(
    data_dir: &Path,
    database_url: &str,
    login: &str,
    role: Option<&str>,
    worker: bool,
) -> String {
    let mut create = vec!["create-user", "--login", login, "--name", login];
    create.extend(role.map(|role| ["--role", role]).into_iter().flatten());
    admin_cli(data_dir, database_url, &create);
    let mut issue = vec!["create-token", "--login", login];
    if worker {
        issue.push("--worker");
    }
    admin_cli(data_dir, database_url, &issue)
}

/// The scenario of the test package (`copy_test_package`) the HTTP helpers below use.
pub const TEST_SCENARIO: &str = "test-parcel-delay";

/// Over HTTP: a team of the token's user, enrolled in [`TEST_SCENARIO`]; its id.
pub async fn enrolled_team(base: &str, token: &str) -> String {
    let client = reqwest::Client::new();
    let team: serde_json::Value = client
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "T", "kind": "company", "institution": "I"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = team["id"].as_str().unwrap().to_owned();
    let enrolled = client
        .post(format!(
            "{base}/api/v1/scenarios/{TEST_SCENARIO}/enrolments"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({"team_id": team}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 201);
    team
}

/// Over HTTP: `GET base+path` with `token`, as JSON.
pub async fn get_json(base: &str, path: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Over HTTP: uploads `archive` for `team` to [`TEST_SCENARIO`]; the submission's id.
pub async fn upload(
    base: &str,
    token: &str,
    team: &str,
    archive: impl Into<reqwest::Body>,
) -> String {
    let uploaded: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{base}/api/v1/scenarios/{TEST_SCENARIO}/submissions?team_id={team}"
        ))
        .bearer_auth(token)
        .header("Content-Type", "application/x-tar")
        .body(archive)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    uploaded["submission"]["id"].as_str().unwrap().to_owned()
}

/// Runs a client command (`submit`, `status`, `leaderboard`) as a team member would, with
/// the platform and token in the environment and no config file.
pub fn client_cli(base: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args(args)
        .env("JIEBANG_PLATFORM", base)
        .env("JIEBANG_TOKEN", token)
        .env("JIEBANG_CLIENT_CONFIG", "/nonexistent")
        .output()
        .unwrap()
}
