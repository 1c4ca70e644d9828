//! The catalog's accelerator scenario end to end: `jiebang serve` with its embedded worker
//! on a node whose inventory is one Cambricon-style device (a harmless character device
//! made with `mknod` under a folder the worker's device root points at); the baseline built
//! with `scripts/build-baseline` is evaluated on it, the report names the device and its
//! leased seconds, and the operator's utilisation series counts its device-hours.

use jiebang_sandboxes::testing::require_docker;

use crate::binary::{admin_cli, admin_token, start_server_with};
use crate::common::{Backend, fresh_database};
use crate::newcomer::{build_baseline, catalog_open_now, get_json, submit_to, team_up_for, watch};
use crate::on_one_backend;

const SCENARIO: &str = "fengxi-handwritten-digits";

/// A device root with one MLU-style device and its control node.
fn fake_mlu(dev: &std::path::Path) {
    std::fs::create_dir_all(dev).unwrap();
    for (name, minor) in [("cambricon_dev0", "3"), ("cambricon_ctl", "5")] {
        let made = std::process::Command::new("mknod")
            .arg(dev.join(name))
            .args(["c", "1", minor])
            .status()
            .expect("mknod runs");
        assert!(
            made.success(),
            "mknod {name} (the Docker tests run as root)"
        );
    }
}

/// The body of a GET, as `token`'s holder when given.
async fn text_of(client: &reqwest::Client, url: String, token: Option<&str>) -> String {
    let request = client.get(url);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap().text().await.unwrap()
}

async fn the_accelerator_scenario_runs_on_its_leased_device(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let image = tokio::task::spawn_blocking(move || {
        build_baseline(
            SCENARIO,
            &[],
            format!("jiebang-test/digits-{backend:?}:base").to_lowercase(),
        )
    })
    .await
    .unwrap();
    let database = fresh_database(backend);
    let data = database.dir.path();
    let catalog = tempfile::tempdir().unwrap();
    catalog_open_now(catalog.path(), SCENARIO, 200);
    let dev = tempfile::tempdir().unwrap();
    fake_mlu(dev.path());
    let server = start_server_with(
        data,
        &database.url,
        catalog.path(),
        true,
        "127.0.0.1:0",
        &[
            (
                "JIEBANG_SANDBOX_ACCELERATORS",
                "cambricon:0=MLU370".to_owned(),
            ),
            (
                "JIEBANG_SANDBOX_DEVICE_ROOT",
                dev.path().display().to_string(),
            ),
        ],
    );
    let base = server.base.clone();
    let admin = admin_token(&server.printed).expect("a first start prints the admin token");
    let client = reqwest::Client::new();

    // The scenario page says what hardware the run gets.
    let page = text_of(
        &client,
        format!("{base}/scenarios/{SCENARIO}?lang=en"),
        None,
    )
    .await;
    assert!(
        page.contains("1 × accelerator of any model, leased to the run alone"),
        "{page}"
    );

    admin_cli(
        data,
        &database.url,
        &["create-user", "--login", "mlu", "--name", "mlu"],
    );
    let token = admin_cli(data, &database.url, &["create-token", "--login", "mlu"]);
    let team = team_up_for(&client, &base, token, "Fengxi Vision", SCENARIO).await;
    let id = submit_to(&base, &team, &image, SCENARIO).await;
    let status = watch(&base, &team, &id).await;
    assert!(status.contains("done"), "{status}");

    let answer = get_json(
        &client,
        format!("{base}/api/v1/submissions/{id}/report"),
        Some(&team.token),
    )
    .await;
    let report = &answer["report"];
    assert_eq!(report["devices"], serde_json::json!(["0"]), "{report}");
    let seconds = report["device_seconds"].as_f64().unwrap_or_default();
    assert!(seconds > 0.0, "device-seconds metered: {report}");
    let held = &report["accelerators"][0];
    assert!(
        held["leased_seconds"].as_f64().unwrap_or_default() > 0.0,
        "{report}"
    );

    // The operator's series counts the run's device-hours for its scenario.
    let csv = text_of(
        &client,
        format!("{base}/console/operator/utilisation.csv?range=day"),
        Some(&admin),
    )
    .await;
    let line = csv
        .lines()
        .find(|line| line.starts_with(&format!("scenario,{SCENARIO},")))
        .unwrap_or_else(|| panic!("no device-hours for the scenario: {csv}"));
    let hours: f64 = line.split(',').nth(3).unwrap().parse().unwrap();
    assert!(hours > 0.0, "{line}");
}

on_one_backend!(the_accelerator_scenario_runs_on_its_leased_device);
