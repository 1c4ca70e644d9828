//! Departments' package uploads: who may, hostile archives contained, validation problems
//! listed with nothing changed, and an accepted package bundled for workers.

use std::path::{Path, PathBuf};

use actix_web::test::TestRequest;
use jiebang_platform::db::ids::ScenarioId;
use jiebang_platform::db::models::scenarios::{self, ScenarioSource, ScenarioStatus};
use serde_json::Value;

use crate::common::{Backend, Reply, TestApp, package_archive, scenario_row};
use crate::on_both_backends;

pub(crate) const SCENARIO: &str = "test-parcel-delay";

/// The fixture package as a tar of one top-level folder, after `change` edits a copy.
pub(crate) fn package_tar(change: impl FnOnce(&Path)) -> Vec<u8> {
    package_archive(SCENARIO, change)
}

/// A tar with one raw entry, its name written as given (so `..` and `/` survive).
fn raw_tar(name: &str, kind: tar::EntryType, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    builder.into_inner().unwrap()
}

async fn put(app: &TestApp, scenario: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
    let mut request = TestRequest::put()
        .uri(&format!("/api/v1/scenarios/{scenario}/package"))
        .insert_header(("Content-Type", "application/x-tar"))
        .set_payload(body);
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    app.send(request).await
}

pub(crate) fn spec_of(app: &TestApp) -> String {
    app.read(|conn| scenarios::find(conn, &ScenarioId::from(SCENARIO)))
        .unwrap()
        .spec
}

pub(crate) async fn with_api_scenario(
    backend: Backend,
    adjust: impl FnOnce(&mut jiebang_platform::config::Config),
) -> TestApp {
    let app = TestApp::with_config(backend, adjust).await;
    app.state
        .db
        .write_blocking(|conn| {
            scenarios::insert(
                conn,
                &scenario_row(SCENARIO, "konggang", ScenarioStatus::Draft),
                None,
            )
        })
        .unwrap();
    app
}

async fn who_may_upload(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    let w = &app.world;
    let body = package_tar(|_| {});
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 404),
        (w.judge.token(), 404),
        (w.fengdong.token(), 404),
    ] {
        let reply = put(&app, SCENARIO, who, body.clone()).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    assert_eq!(spec_of(&app), "{}");
    // A published scenario of Konggang: other departments see it but may not change it.
    let published = put(&app, "kg-open", w.fengdong.token(), body.clone()).await;
    assert_eq!(published.status, 403);
    // A catalog scenario changes through its catalog package.
    app.state
        .db
        .write_blocking(|conn| {
            let mut row = scenario_row("kg-catalog", "konggang", ScenarioStatus::Published);
            row.source = ScenarioSource::Catalog;
            scenarios::insert(conn, &row, None)
        })
        .unwrap();
    let catalog = put(&app, "kg-catalog", w.konggang.token(), body.clone()).await;
    assert_eq!(
        (catalog.status.as_u16(), catalog.code()),
        (409, "managed_by_catalog")
    );

    let admin = put(&app, SCENARIO, w.admin.token(), body).await;
    assert_eq!(admin.status, 200, "{:?}", admin.body);
}

async fn hostile_archives_change_nothing(backend: Backend) {
    let app = with_api_scenario(backend, |config| config.max_package_bytes = 64 * 1024).await;
    let token = app.world.konggang.token();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "traversal",
            raw_tar("../../escaped", tar::EntryType::Regular, b"x"),
            400,
            "bad_archive",
        ),
        (
            "absolute",
            raw_tar("/tmp/escaped", tar::EntryType::Regular, b"x"),
            400,
            "bad_archive",
        ),
        (
            "symlink",
            raw_tar("pkg/link", tar::EntryType::Symlink, b""),
            400,
            "bad_archive",
        ),
        (
            "device",
            raw_tar("pkg/dev", tar::EntryType::Char, b""),
            400,
            "bad_archive",
        ),
        ("not a tar", vec![b'x'; 4096], 400, "bad_archive"),
        ("empty", Vec::new(), 400, "bad_archive"),
        ("oversized", vec![0u8; 65 * 1024], 413, "payload_too_large"),
        (
            "unpacks too large",
            {
                use std::io::Write;
                let big = raw_tar("pkg/big", tar::EntryType::Regular, &vec![0u8; 200 * 1024]);
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(&big).unwrap();
                gz.finish().unwrap()
            },
            413,
            "payload_too_large",
        ),
    ];
    for (name, body, status, code) in cases {
        let reply = put(&app, SCENARIO, token, body).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (status, code),
            "{name}: {:?}",
            reply.body
        );
    }
    assert!(!app.state.config.data_dir.join("escaped").exists());
    assert!(!Path::new("/tmp/escaped").exists());
    assert_eq!(spec_of(&app), "{}");
    assert!(
        !app.state
            .config
            .data_dir
            .join("packages")
            .join(SCENARIO)
            .exists()
    );
    let leftovers = std::fs::read_dir(app.state.config.data_dir.join("packages/incoming"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "refused uploads leave no files");
}

async fn problems_are_listed_and_nothing_changes(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    let token = app.world.konggang.token();
    let good = put(&app, SCENARIO, token, package_tar(|_| {})).await;
    assert_eq!(good.status, 200, "{:?}", good.body);
    let spec_before = spec_of(&app);

    let broken = package_tar(|dir| {
        let manifest = dir.join("scenario.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("budget_ms = 20", "budget_ms = 0.01"),
        )
        .unwrap();
        std::fs::remove_file(dir.join("hidden/labels.jsonl")).unwrap();
    });
    let reply = put(&app, SCENARIO, token, broken).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (422, "invalid_package"),
        "{:?}",
        reply.body
    );
    let problems = reply.body["error"]["problems"].as_array().unwrap();
    assert!(problems.len() >= 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p["file"].as_str().unwrap().contains("labels"))
    );
    assert!(problems.iter().any(|p| p["field"] == "latency.budget_ms"));
    // Each problem has a code and the values of its message, for clients' own words.
    let budget = problems
        .iter()
        .find(|p| p["field"] == "latency.budget_ms")
        .unwrap();
    assert_eq!(budget["code"], "budget_too_small", "{budget}");
    assert_eq!(budget["params"], serde_json::json!({"min_ms": "1"}));

    let elsewhere = package_tar(|dir| {
        let manifest = dir.join("scenario.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("id = \"test-parcel-delay\"", "id = \"other-id\"")
                .replace("town = \"konggang\"", "town = \"fengdong\""),
        )
        .unwrap();
    });
    let reply = put(&app, SCENARIO, token, elsewhere).await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    let fields: Vec<&str> = reply.body["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "town"]);
    let mismatch = &reply.body["error"]["problems"][1];
    assert_eq!(mismatch["code"], "town_mismatch");
    assert_eq!(
        mismatch["params"],
        serde_json::json!({"town": "fengdong", "scenario": SCENARIO, "organization": "konggang"})
    );
    assert_eq!(
        spec_of(&app),
        spec_before,
        "a refused upload changes nothing"
    );
    let versions = std::fs::read_dir(app.state.config.data_dir.join("packages").join(SCENARIO))
        .unwrap()
        .count();
    assert_eq!(versions, 1, "only the accepted version is stored");
}

async fn an_accepted_package_is_served_to_workers(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    let token = app.world.konggang.token();
    let first = put(&app, SCENARIO, token, package_tar(|_| {})).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let digest = first.body["bundle_digest"].as_str().unwrap().to_owned();
    assert!(first.body["hidden_items"].as_u64().unwrap() > 0);
    let spec: Value = serde_json::from_str(&spec_of(&app)).unwrap();
    assert_eq!(spec["bundle_digest"], digest.as_str());
    assert_eq!(spec["manifest"]["id"], SCENARIO);
    let package_dir = PathBuf::from(spec["package_dir"].as_str().unwrap());
    assert!(package_dir.join("hidden").is_dir());
    assert!(package_dir.starts_with(app.state.config.data_dir.join("packages").join(SCENARIO)));

    // A new version with different hidden data: a new bundle, the old one still stored.
    let second = put(
        &app,
        SCENARIO,
        token,
        package_tar(|dir| {
            let readme = dir.join("public/README.md");
            let text = std::fs::read_to_string(&readme).unwrap_or_default();
            std::fs::write(&readme, format!("{text}\nVersion 2.\n")).unwrap();
            let manifest = dir.join("scenario.toml");
            let text = std::fs::read_to_string(&manifest).unwrap();
            std::fs::write(&manifest, format!("{text}\n# version 2\n")).unwrap();
        }),
    )
    .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let new_digest = second.body["bundle_digest"].as_str().unwrap().to_owned();
    assert_ne!(
        new_digest, digest,
        "the bundle digest changes with the package"
    );
    let worker = app.worker_token();
    let bundle = app
        .bytes(
            TestRequest::get()
                .uri(&format!("/internal/v1/blobs/{new_digest}"))
                .insert_header(("Authorization", format!("Bearer {worker}"))),
        )
        .await;
    let mut archive = tar::Archive::new(bundle.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "scenario.toml"), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("hidden")), "{names:?}");
    assert!(
        app.state.blobs.contains(&digest),
        "the earlier bundle is kept"
    );

    let audited = app
        .get("/api/v1/audit?per_page=100", app.world.admin.token())
        .await;
    let uploads = audited.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "scenario.package_upload")
        .count();
    assert_eq!(uploads, 2);
}

on_both_backends!(
    who_may_upload,
    hostile_archives_change_nothing,
    problems_are_listed_and_nothing_changes,
    an_accepted_package_is_served_to_workers,
);
