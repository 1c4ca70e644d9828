//! The walk-through of docs/guide-team.md, as a newcomer would do it by hand: start the
//! platform with its embedded worker on the real catalog, create a team, enrol, build the
//! baseline with `scripts/build-baseline`, `jiebang submit` it, watch it with
//! `jiebang status`, find it on the leaderboard and read its report, `jiebang try` it on the
//! public samples. A weaker model ranks below it and a slow one is marked over budget; the
//! team's own tags survive every evaluation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use jiebang_sandboxes::testing::require_docker;

use crate::binary::{admin_cli, admin_token, client_cli, start_server};
use crate::common::{Backend, fresh_database};
use crate::on_one_backend;

const SCENARIO: &str = "konggang-flight-delay";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The three images, built with the documented command, under names of this run's own.
fn images(prefix: &str) -> [String; 3] {
    let build = |extra: &[&str], tag: String| build_baseline(SCENARIO, extra, tag);
    [
        build(&[], format!("{prefix}:full")),
        build(&["--features", "2"], format!("{prefix}:weak")),
        build(&["--delay-ms", "15"], format!("{prefix}:slow")),
    ]
}

/// `scripts/build-baseline` for a catalog scenario, as the team guide says; the tag.
pub(crate) fn build_baseline(scenario: &str, extra: &[&str], tag: String) -> String {
    {
        let output = Command::new(workspace().join("scripts/build-baseline"))
            .arg(workspace().join("scenarios/catalog").join(scenario))
            .args(["--tag", &tag])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "scripts/build-baseline: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            printed.lines().last(),
            Some(tag.as_str()),
            "the image name is printed last"
        );
        tag
    }
}

/// Hidden items kept in the test's copy: enough for the minimum query count, few enough
/// that the slow image's run stays short.
const HIDDEN_ITEMS: usize = 600;

/// The latency run's minimum length in the test's copy: the catalog asks ten seconds, which
/// would make three evaluations half a minute of waiting; the minimum query count still
/// decides the percentiles.
const MIN_DURATION_S: i64 = 2;

/// The catalog with the scenario's first phase open today, whatever day the test runs, the
/// first [`HIDDEN_ITEMS`] of its hidden set and a [`MIN_DURATION_S`] latency run.
pub(crate) fn catalog_open_now(dir: &Path, scenario: &str, hidden_items: usize) {
    let package = dir.join(scenario);
    let copied = Command::new("cp")
        .arg("-r")
        .arg(workspace().join("scenarios/catalog").join(scenario))
        .arg(&package)
        .status()
        .unwrap();
    assert!(copied.success());
    let path = package.join("scenario.toml");
    let mut manifest: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let day = chrono::Duration::days(1);
    let now = chrono::Utc::now();
    let phases = manifest["phases"].as_array_mut().unwrap();
    for (index, phase) in phases.iter_mut().enumerate() {
        let offset = i32::try_from(index).unwrap() * 60;
        let opens = now - day + day * offset;
        let closes = now + day * (offset + 59);
        phase["opens_at"] = toml::Value::String(opens.to_rfc3339());
        phase["closes_at"] = toml::Value::String(closes.to_rfc3339());
    }
    manifest["latency"]["min_duration_s"] = toml::Value::Integer(MIN_DURATION_S);
    std::fs::write(&path, toml::to_string(&manifest).unwrap()).unwrap();

    let hidden = package.join("hidden");
    let inputs = std::fs::read_to_string(hidden.join("inputs.jsonl")).unwrap();
    let kept: Vec<&str> = inputs.lines().take(hidden_items).collect();
    let ids: std::collections::HashSet<String> = kept
        .iter()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let labels = std::fs::read_to_string(hidden.join("labels.jsonl")).unwrap();
    let kept_labels: Vec<&str> = labels
        .lines()
        .filter(|line| {
            ids.contains(
                serde_json::from_str::<Value>(line).unwrap()["id"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(hidden.join("inputs.jsonl"), kept.join("\n") + "\n").unwrap();
    std::fs::write(hidden.join("labels.jsonl"), kept_labels.join("\n") + "\n").unwrap();
}

/// GETs `url` (as `token`'s holder, when given) and reads the JSON answer.
pub(crate) async fn get_json(
    client: &reqwest::Client,
    url: String,
    token: Option<&String>,
) -> Value {
    let request = client.get(url);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap().json().await.unwrap()
}

pub(crate) struct Newcomer {
    pub token: String,
    pub team: String,
}

async fn team_up(client: &reqwest::Client, base: &str, token: String, name: &str) -> Newcomer {
    team_up_for(client, base, token, name, SCENARIO).await
}

/// A team made by `token`'s holder and enrolled in `scenario`.
pub(crate) async fn team_up_for(
    client: &reqwest::Client,
    base: &str,
    token: String,
    name: &str,
    scenario: &str,
) -> Newcomer {
    let created = client
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(&token)
        .json(&json!({"name": name, "kind": "university", "institution": "Northwestern Polytechnical University"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let team = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrolled = client
        .post(format!("{base}/api/v1/scenarios/{scenario}/enrolments"))
        .bearer_auth(&token)
        .json(&json!({"team_id": team}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 201);
    Newcomer { token, team }
}

async fn submit(base: &str, who: &Newcomer, image: &str) -> String {
    submit_to(base, who, image, SCENARIO).await
}

/// `jiebang submit --scenario SCENARIO IMAGE` as `who`; the new submission's id.
pub(crate) async fn submit_to(base: &str, who: &Newcomer, image: &str, scenario: &str) -> String {
    let (base, token, image) = (base.to_owned(), who.token.clone(), image.to_owned());
    let scenario = scenario.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        client_cli(&base, &token, &["submit", "--scenario", &scenario, &image])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("submission "))
        .expect("the submission id is printed")
        .trim()
        .to_owned()
}

/// Watches a submission with `jiebang status` until it is done or failed.
pub(crate) async fn watch(base: &str, who: &Newcomer, id: &str) -> String {
    for _ in 0..300 {
        let (base, token, id) = (base.to_owned(), who.token.clone(), id.to_owned());
        let output =
            tokio::task::spawn_blocking(move || client_cli(&base, &token, &["status", &id]))
                .await
                .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        if printed.contains("done") || printed.contains("failed") {
            return printed;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("submission {id} did not finish in five minutes");
}

async fn a_newcomer_submits_the_baseline(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let [full_image, weak_image, slow_image] = tokio::task::spawn_blocking(move || {
        images(&format!("jiebang-test/newcomer-{backend:?}").to_lowercase())
    })
    .await
    .unwrap();
    let database = fresh_database(backend);
    let data = database.dir.path();
    let catalog = tempfile::tempdir().unwrap();
    catalog_open_now(catalog.path(), SCENARIO, HIDDEN_ITEMS);
    let server = start_server(data, &database.url, catalog.path(), true);
    let base = server.base.clone();
    assert!(
        admin_token(&server.printed).is_some(),
        "a first start prints the admin token"
    );

    let client = reqwest::Client::new();
    let scenario = get_json(&client, format!("{base}/api/v1/scenarios/{SCENARIO}"), None).await;
    assert_eq!(scenario["organization_id"], "konggang", "{scenario}");

    // The public data, downloaded as a team would; nothing of hidden/ is reachable.
    let files = get_json(
        &client,
        format!("{base}/api/v1/scenarios/{SCENARIO}/files"),
        None,
    )
    .await;
    let paths: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "README.md",
        "samples/inputs.jsonl",
        "train/inputs.jsonl",
        "train/labels.jsonl",
    ] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }
    let train = client
        .get(format!(
            "{base}/api/v1/scenarios/{SCENARIO}/files/train/labels.jsonl"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(train.status(), 200);
    let original = std::fs::read(
        catalog
            .path()
            .join(SCENARIO)
            .join("public/train/labels.jsonl"),
    )
    .unwrap();
    assert_eq!(train.bytes().await.unwrap().as_ref(), original.as_slice());
    for sneaky in [
        "../hidden/labels.jsonl",
        "..%2Fhidden%2Flabels.jsonl",
        "../scenario.toml",
    ] {
        let refused = client
            .get(format!("{base}/api/v1/scenarios/{SCENARIO}/files/{sneaky}"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 404, "{sneaky}");
    }

    let mut newcomers = Vec::new();
    for (login, team) in [
        ("li", "Chang'an Flyers"),
        ("wang", "Weishui Data"),
        ("zhao", "Slow Lane"),
    ] {
        admin_cli(
            data,
            &database.url,
            &["create-user", "--login", login, "--name", login],
        );
        let token = admin_cli(data, &database.url, &["create-token", "--login", login]);
        newcomers.push(team_up(&client, &base, token, team).await);
    }
    let full = submit(&base, &newcomers[0], &full_image).await;
    let weak = submit(&base, &newcomers[1], &weak_image).await;
    let slow = submit(&base, &newcomers[2], &slow_image).await;

    let quota = get_json(
        &client,
        format!(
            "{base}/api/v1/scenarios/{SCENARIO}/quota?team_id={}",
            newcomers[0].team
        ),
        Some(&newcomers[0].token),
    )
    .await;
    assert_eq!(quota["remaining"], 4, "{quota}");

    let status = watch(&base, &newcomers[0], &full).await;
    for stage in [
        "stored",
        "queued",
        "sample_run",
        "hidden_run",
        "scoring",
        "done",
    ] {
        assert!(status.contains(stage), "{stage} in:\n{status}");
    }
    assert!(watch(&base, &newcomers[1], &weak).await.contains("done"));
    assert!(watch(&base, &newcomers[2], &slow).await.contains("done"));

    let board = get_json(
        &client,
        format!("{base}/api/v1/scenarios/{SCENARIO}/leaderboard"),
        None,
    )
    .await;
    let rows = board["rows"].as_array().unwrap();
    let teams: Vec<&str> = rows
        .iter()
        .map(|r| r["team_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        teams,
        ["Chang'an Flyers", "Weishui Data", "Slow Lane"],
        "{board}"
    );
    let score = |row: usize| rows[row]["score"].as_f64().unwrap();
    assert!(
        score(0) > 0.6,
        "the baseline's public-board ROC AUC: {board}"
    );
    assert!(score(1) < score(0), "fewer features score lower: {board}");
    assert_eq!(rows[0]["within_budget"], true, "{board}");
    assert_eq!(
        rows[2]["within_budget"], false,
        "15 ms per answer is over 10 ms: {board}"
    );
    assert!(
        score(2) > score(1),
        "the slow one ranks last despite its score: {board}"
    );

    let printed = client_cli(
        &base,
        &newcomers[0].token,
        &["leaderboard", "--scenario", SCENARIO],
    );
    let table = String::from_utf8_lossy(&printed.stdout);
    assert!(
        table.contains("Chang'an Flyers") && table.contains("OVER"),
        "{table}"
    );

    let report = get_json(
        &client,
        format!("{base}/api/v1/submissions/{full}/report"),
        Some(&newcomers[0].token),
    )
    .await;
    let hidden = &report["report"]["hidden"];
    assert_eq!(hidden["scores"]["metric"], "roc_auc", "{report}");
    assert!(
        hidden["scores"]["public"]["value"].as_f64().unwrap() > 0.6,
        "{report}"
    );
    let p90 = hidden["latency"]["p90_ms"].as_f64().unwrap();
    assert!(
        p90 > 0.0 && p90 < 10.0,
        "the baseline meets its 10 ms budget: {p90}"
    );
    assert!(
        report["report"]["image"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{report}"
    );

    // Before submitting, a team tries its image on this machine: the platform's sandbox and
    // harness on the public samples, fetched without a token, and the same report printed.
    let tried = Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args([
            "try",
            "--scenario",
            SCENARIO,
            &full_image,
            "--platform",
            &base,
        ])
        .env_remove("JIEBANG_TOKEN")
        .env("JIEBANG_CLIENT_CONFIG", "/nonexistent")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&tried.stdout);
    assert!(
        tried.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&tried.stderr)
    );
    for expected in [
        "public samples of konggang-flight-delay",
        "roc_auc (public board's part): ",
        "budget (p90 ≤ 10 ms): within;",
        "finished",
    ] {
        assert!(printed.contains(expected), "{expected} in:\n{printed}");
    }

    // The embedded worker shares the team's engine: it removed only the reference it
    // loaded each image under; the team's own images and tags are still there.
    let id_of = |image: &str| {
        let inspected = Command::new("docker")
            .args(["image", "inspect", "-f", "{{.Id}}", image])
            .output()
            .unwrap();
        inspected
            .status
            .success()
            .then(|| String::from_utf8_lossy(&inspected.stdout).trim().to_owned())
    };
    assert_eq!(
        id_of(&full_image).as_deref(),
        report["report"]["image"].as_str(),
        "the team's image is kept"
    );
    assert!(id_of(&weak_image).is_some() && id_of(&slow_image).is_some());
    let loaded = Command::new("docker")
        .args(["images", "-q", "jiebang/job"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&loaded.stdout).contains(
            report["report"]["image"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
                .get(..12)
                .unwrap()
        ),
        "the worker's own references are gone"
    );
    for image in [&full_image, &weak_image, &slow_image] {
        let _ = Command::new("docker").args(["rmi", image]).output();
    }
}

on_one_backend!(a_newcomer_submits_the_baseline);
