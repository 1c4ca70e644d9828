//! The catalog: valid packages become published scenarios; a broken one is refused with
//! every problem and does not stop the others.

use jiebang_platform::catalog;
use serde_json::json;

use crate::common::{Backend, TestApp, copy_test_package, edit, test_package_source};
use crate::on_both_backends;

async fn valid_packages_load_and_broken_ones_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    copy_test_package(dir.path(), "a-good");
    let broken = copy_test_package(dir.path(), "b-broken");
    edit(&broken.join("scenario.toml"), |t| {
        t.replace("id = \"test-parcel-delay\"", "id = \"test-broken\"")
            .replace("budget_ms = 20", "budget_ms = 0.01")
            .replace("town = \"konggang\"", "town = \"atlantis\"")
    });
    std::fs::remove_file(broken.join("hidden/labels.jsonl")).unwrap();
    let foreign = copy_test_package(dir.path(), "c-foreign-town");
    edit(&foreign.join("scenario.toml"), |t| {
        t.replace("id = \"test-parcel-delay\"", "id = \"test-elsewhere\"")
            .replace("town = \"konggang\"", "town = \"atlantis\"")
    });

    let report = catalog::load(&app.state.db, &app.state.blobs, dir.path()).unwrap();
    assert_eq!(
        report
            .loaded
            .iter()
            .map(|id| id.as_str())
            .collect::<Vec<_>>(),
        ["test-parcel-delay"]
    );
    assert_eq!(report.refused.len(), 2);
    let broken_report = report.refused[0].to_string();
    assert!(
        broken_report.contains("latency.budget_ms")
            && broken_report.contains("hidden/labels.jsonl"),
        "{broken_report}"
    );
    assert!(
        report.refused[1].to_string().contains("atlantis"),
        "{}",
        report.refused[1]
    );

    let shown = app.get("/api/v1/scenarios/test-parcel-delay", None).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["source"], "catalog");
    assert_eq!(shown.body["status"], "open");
    assert_eq!(shown.body["phases"].as_array().unwrap().len(), 2);
    assert_eq!(shown.body["metric"], "accuracy");
    assert_eq!(
        app.get("/api/v1/scenarios/test-broken", None).await.status,
        404
    );

    let clerk = app.world.konggang.clone();
    let edit_refused = app
        .patch(
            "/api/v1/scenarios/test-parcel-delay",
            clerk.token(),
            json!({"title_en": "x"}),
        )
        .await;
    assert_eq!(
        (edit_refused.status.as_u16(), edit_refused.code()),
        (409, "managed_by_catalog")
    );

    // A team enrols; a reload with a changed package keeps the enrolment's phase.
    let w = &app.world;
    let enrolled = app
        .enrol("test-parcel-delay", &w.alice, w.team_a.as_str())
        .await;
    assert_eq!(enrolled.status, 201);
    let phase = enrolled.body["phase_id"].as_str().unwrap().to_owned();
    edit(&dir.path().join("a-good/scenario.toml"), |t| {
        t.replace("Test: parcel delay prediction", "Parcel delay, revised")
    });
    let again = catalog::load(&app.state.db, &app.state.blobs, dir.path()).unwrap();
    assert_eq!(again.loaded.len(), 1);
    let revised = app.get("/api/v1/scenarios/test-parcel-delay", None).await;
    assert_eq!(revised.body["title_en"], "Parcel delay, revised");
    assert!(
        revised.body["phases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == phase.as_str())
    );
    assert_eq!(app.count("enrolments"), 1);

    // A package that breaks later keeps its last good version on the list.
    edit(&dir.path().join("a-good/scenario.toml"), |t| {
        t.replace(
            "[metric]\nname = \"accuracy\"",
            "[metric]\nname = \"beauty\"",
        )
    });
    let third = catalog::load(&app.state.db, &app.state.blobs, dir.path()).unwrap();
    assert!(third.loaded.is_empty());
    assert_eq!(
        app.get("/api/v1/scenarios/test-parcel-delay", None)
            .await
            .body["title_en"],
        "Parcel delay, revised"
    );
}

async fn a_catalog_id_cannot_take_over_an_api_scenario(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let package = copy_test_package(dir.path(), "clash");
    edit(&package.join("scenario.toml"), |t| {
        t.replace("id = \"test-parcel-delay\"", "id = \"kg-open\"")
    });
    let report = catalog::load(&app.state.db, &app.state.blobs, dir.path()).unwrap();
    assert!(report.loaded.is_empty());
    assert!(
        report.refused[0]
            .to_string()
            .contains("posted through the API")
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-open", None).await.body["source"],
        "api"
    );
}

on_both_backends!(
    valid_packages_load_and_broken_ones_are_refused,
    a_catalog_id_cannot_take_over_an_api_scenario,
);

#[test]
fn scenario_validate_prints_every_problem() {
    let good = std::process::Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args(["scenario", "validate"])
        .arg(test_package_source())
        .output()
        .unwrap();
    assert!(good.status.success());
    assert!(String::from_utf8_lossy(&good.stdout).contains("valid"));

    let dir = tempfile::tempdir().unwrap();
    let broken = copy_test_package(dir.path(), "broken");
    edit(&broken.join("scenario.toml"), |t| {
        t.replace("budget_ms = 20", "budget_ms = -5")
            .replace("domain = \"logistics\"", "domain = \"Logistics!\"")
    });
    std::fs::remove_file(broken.join("public/README.md")).unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args(["scenario", "validate"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let printed = String::from_utf8_lossy(&refused.stdout);
    for needle in [
        "3 problem(s)",
        "latency.budget_ms",
        "domain",
        "public/README.md",
    ] {
        assert!(
            printed.contains(needle),
            "`{needle}` missing from:\n{printed}"
        );
    }
}
