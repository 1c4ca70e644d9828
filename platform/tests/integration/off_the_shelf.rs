//! Off-the-shelf model servers, end to end on the real Docker engine: one whose metadata
//! declares no tensors (KServe's stock servers) and one with Triton's dynamic batch
//! dimension and tensor names (`input__0` `[-1, 3]`, `output__0` `[-1, 1]`) are both
//! evaluated, scored on every item and ranked, with the report saying how they matched.

use jiebang_sandboxes::testing::require_docker;

use crate::common::{Backend, TestApp};
use crate::evaluation::{InProcessWorker, archive_of, finished, load_test_package};
use crate::on_one_backend;

async fn off_the_shelf_servers_are_ranked(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::new(backend).await;
    let _catalog = load_test_package(&app);
    let worker = InProcessWorker::start(&app);
    let images = tempfile::tempdir().unwrap();
    let w = &app.world;
    let kserve = app
        .submit(
            "test-parcel-delay",
            &w.alice,
            w.team_a.as_str(),
            archive_of("model-kserve", &["model", "kserve"], images.path()),
        )
        .await;
    let triton = app
        .submit(
            "test-parcel-delay",
            &w.bob,
            w.team_b.as_str(),
            archive_of("model-triton", &["model", "triton"], images.path()),
        )
        .await;
    let kserve_done = finished(&app, &w.alice, &kserve).await;
    let triton_done = finished(&app, &w.bob, &triton).await;
    worker.stop();
    assert_eq!(kserve_done["status"], "done", "{kserve_done}");
    assert_eq!(triton_done["status"], "done", "{triton_done}");

    let board = app
        .get("/api/v1/scenarios/test-parcel-delay/leaderboard", None)
        .await;
    assert_eq!(board.status, 200, "{:?}", board.body);
    let rows = board.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", board.body);
    for row in rows {
        // Every answer right: the Triton-like server refuses a request whose input is not
        // named `input__0`, so a score of 1 means the harness sent the model's name.
        assert_eq!(row["score"], 1.0, "{row}");
        assert_eq!(row["items"], row["items_in_set"], "{row}");
        assert_eq!(row["within_budget"], true, "{row}");
    }

    let notes = |report: &serde_json::Value| -> String {
        report["report"]["notes"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            // A note is its code, parameters and English text.
            .map(|n| n["text"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let kserve_report = app
        .get(
            &format!("/api/v1/submissions/{kserve}/report"),
            w.alice.token(),
        )
        .await;
    let said = notes(&kserve_report.body);
    assert!(
        said.contains("declares no inputs") && said.contains("declares no outputs"),
        "{said}"
    );
    let triton_report = app
        .get(
            &format!("/api/v1/submissions/{triton}/report"),
            w.bob.token(),
        )
        .await;
    let said = notes(&triton_report.body);
    assert!(
        said.contains("`input__0` was taken for the scenario's `features`")
            && said.contains("`output__0` was taken for the scenario's `delayed`"),
        "{said}"
    );
    assert_eq!(
        said.matches("matched by position").count(),
        2,
        "each warning once, though both runs read the metadata: {said}"
    );
}

on_one_backend!(off_the_shelf_servers_are_ranked);
