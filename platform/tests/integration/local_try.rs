//! `jiebang try` (a team, on a scenario's public samples fetched from the platform without a
//! token) and `jiebang scenario try` (a department, on a package's hidden set) evaluate a
//! local image with the platform's own sandbox and harness and print the report; the
//! image's own tag stays. The manifest they read, and the board, need no token.

use jiebang_sandboxes::testing::require_docker;

use crate::cli_submit::jiebang;
use crate::common::{Backend, TestApp};
use crate::evaluation::{fixture, load_test_package, short_test_package};
use crate::on_one_backend;

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn tag_exists(tag: &str) -> bool {
    std::process::Command::new("docker")
        .args(["image", "inspect", tag])
        .output()
        .unwrap()
        .status
        .success()
}

async fn try_on_the_public_samples(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::new(backend).await;
    let _catalog = load_test_package(&app);
    let base = app.serve_http();

    let image =
        fixture::fixture_image_with("jiebang-fixture/model-right:test", &["model", "right"]);
    let tried = jiebang(args(&[
        "try",
        "--scenario",
        "test-parcel-delay",
        &image,
        "--platform",
        &base,
    ]))
    .await;
    let printed = String::from_utf8_lossy(&tried.stdout);
    assert!(
        tried.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&tried.stderr)
    );
    for expected in [
        "on the 4 public samples of test-parcel-delay",
        "sample run:",
        "hidden run:",
        "accuracy (public board's part): 1.0000",
        "scored 4 of 4 items",
        "budget (p90 ≤ 20 ms): within;",
        "finished",
    ] {
        assert!(printed.contains(expected), "{expected} in:\n{printed}");
    }
    assert!(tag_exists(&image), "the tried image's tag stays");

    let board = jiebang(args(&[
        "board",
        "--scenario",
        "test-parcel-delay",
        "--platform",
        &base,
    ]))
    .await;
    assert!(
        board.status.success(),
        "the public board needs no token: {}",
        String::from_utf8_lossy(&board.stderr)
    );
    assert!(String::from_utf8_lossy(&board.stdout).contains("public board"));
}

async fn scenario_try_on_a_packages_hidden_set(_backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let package = short_test_package(dir.path());
    let package = package.to_string_lossy();
    let right =
        fixture::fixture_image_with("jiebang-fixture/model-right:test", &["model", "right"]);
    let tried = jiebang(args(&["scenario", "try", &package, &right])).await;
    let printed = String::from_utf8_lossy(&tried.stdout);
    assert!(
        tried.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&tried.stderr)
    );
    assert!(printed.contains("12 hidden items"), "{printed}");
    assert!(
        printed.contains("accuracy (public board's part): 1.0000")
            && printed.contains("accuracy (private board's part): 1.0000"),
        "{printed}"
    );

    let bad = fixture::fixture_image_with(
        "jiebang-fixture/model-bad-metadata:test",
        &["model", "bad-metadata"],
    );
    let refused = jiebang(args(&["scenario", "try", &package, &bad])).await;
    assert!(!refused.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        said.contains("FAILED: sample run: inputs tensor `features` is FP64"),
        "{said}"
    );
    assert!(tag_exists(&bad), "a failed try keeps the image's tag too");
}

on_one_backend!(
    try_on_the_public_samples,
    scenario_try_on_a_packages_hidden_set
);

/// A data test, on both backends: no Docker needed.
mod manifest {
    use super::*;
    use crate::on_both_backends;

    /// The rules `jiebang try` reads: anyone's for a published scenario, without the seed that
    /// splits the hidden set; nobody's for a draft.
    async fn a_scenarios_manifest_is_public(backend: Backend) {
        let app = TestApp::new(backend).await;
        let _catalog = load_test_package(&app);
        let manifest = app
            .get("/api/v1/scenarios/test-parcel-delay/manifest", None)
            .await;
        assert_eq!(manifest.status, 200, "{:?}", manifest.body);
        assert_eq!(manifest.body["manifest"]["task"]["model"], "delay");
        assert_eq!(
            manifest.body["manifest"]["split"]["seed"], 0,
            "the boards' split stays the platform's"
        );
        let draft = app.get("/api/v1/scenarios/kg-draft/manifest", None).await;
        assert_eq!(draft.status, 404, "a draft is nobody's business yet");
    }

    on_both_backends!(a_scenarios_manifest_is_public);
}
