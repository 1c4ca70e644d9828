//! Restart: what `jiebang serve` stored before a restart is there after it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{Backend, fresh_database};
use crate::on_both_backends;

struct Server {
    child: Child,
    base: String,
    printed: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary on a free port and reads what it prints up to the listening line.
fn start(data_dir: &std::path::Path, database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("JIEBANG_DATA", data_dir)
        .env("DATABASE_URL", database_url)
        .env("JIEBANG_CATALOG", data_dir.join("no-catalog"))
        .env("JIEBANG_EMBEDDED_WORKER", "false")
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

fn admin_token(printed: &[String]) -> Option<String> {
    printed
        .iter()
        .map(|line| line.trim())
        .find(|line| line.starts_with("jb_"))
        .map(str::to_owned)
}

async fn data_survives_a_restart(backend: Backend) {
    let database = fresh_database(backend);
    let client = reqwest::Client::new();

    let first = start(database.dir.path(), &database.url);
    let token = admin_token(&first.printed).expect("first start prints an admin token");
    let created = client
        .post(format!("{}/api/v1/teams", first.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Restart Team", "kind": "university", "institution": "NWPU"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let team: serde_json::Value = created.json().await.unwrap();
    drop(first);

    let second = start(database.dir.path(), &database.url);
    assert_eq!(
        admin_token(&second.printed),
        None,
        "the admin token is printed only on first start"
    );
    let fetched = client
        .get(format!(
            "{}/api/v1/teams/{}",
            second.base,
            team["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    let body: serde_json::Value = fetched.json().await.unwrap();
    assert_eq!(body["name"], "Restart Team");
    assert_eq!(body["members"][0]["login"], "admin");
}

on_both_backends!(data_survives_a_restart);
